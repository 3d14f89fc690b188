/*
 * core_caps_test.c - the capabilities read from CRIU core images (lib/image/core_caps.c) against a
 * real one (CRIU 4.2.1, root's Node process here: fixtures/core-node.img), synthetic ones (packed and
 * unpacked words, several threads), malformed and random bytes; and the refusal a restore that
 * cannot give them back gets (restore_capability_problem, lib/criu/capabilities.c).
 * Built and run by src/image/core-caps.test.ts; one line per check, exits 1 on a failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "criu/capabilities.h"
#include "image/core_caps.h"
#include "test_support.h"

static void le32(struct msg *m, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		m->b[m->n++] = (uint8_t)(v >> (8 * i));
}

/* A core image whose creds hold `prm` (as two words, packed or not) and `inh`, with other fields around them. */
static struct msg core_image(uint64_t prm, uint64_t inh, int packed)
{
	struct msg creds = { .n = 0 }, thread = { .n = 0 }, core = { .n = 0 }, image = { .n = 0 };
	key(&creds, 1, 0), varint(&creds, 0); /* uid */
	key(&creds, 9, 0), varint(&creds, inh & 0xffffffff);
	key(&creds, 9, 0), varint(&creds, inh >> 32);
	if (packed) {
		struct msg words = { .n = 0 };
		varint(&words, prm & 0xffffffff), varint(&words, prm >> 32);
		bytes(&creds, 10, words.b, words.n);
	} else {
		key(&creds, 10, 0), varint(&creds, prm & 0xffffffff);
		key(&creds, 10, 0), varint(&creds, prm >> 32);
	}
	key(&creds, 13, 0), varint(&creds, 0); /* secbits */
	key(&thread, 1, 0), varint(&thread, 42); /* futex_rla */
	bytes(&thread, 10, creds.b, creds.n);
	key(&core, 1, 0), varint(&core, 1); /* mtype */
	key(&core, 6, 5), le32(&core, 7);   /* a fixed32 to skip */
	bytes(&core, 5, thread.b, thread.n);
	le32(&image, 0x54564319), le32(&image, 0x55053847), le32(&image, (uint32_t)core.n);
	memcpy(image.b + image.n, core.b, core.n);
	image.n += core.n;
	return image;
}

int main(int argc, char **argv)
{
	struct core_caps caps;
	if (argc > 1) {
		FILE *f = fopen(argv[1], "rb");
		static uint8_t real[1 << 16];
		size_t n = f ? fread(real, 1, sizeof(real), f) : 0;
		if (f)
			fclose(f);
		caps = (struct core_caps){ 0, 0 };
		check(core_caps_parse(real, n, &caps) == 0 && caps.permitted == 0x1fffeffffffull && caps.inheritable == 0,
		      "reads a real core image: a root process's set (40 capabilities: this VM's root lacks cap_sys_resource), none inheritable");
	}
	for (int packed = 0; packed <= 1; packed++) {
		struct msg image = core_image(0x100000004c1ull, 0x20ull, packed);
		caps = (struct core_caps){ 0, 0 };
		check(core_caps_parse(image.b, image.n, &caps) == 0 && caps.permitted == 0x100000004c1ull && caps.inheritable == 0x20,
		      packed ? "reads packed capability words" : "reads unpacked capability words");
		for (size_t cut = 0; cut < image.n; cut++) {
			caps = (struct core_caps){ 0, 0 };
			if (core_caps_parse(image.b, cut, &caps) == 0 && cut >= 12) {
				printf("FAIL a core image cut at %zu bytes was read\n", cut);
				failures++;
				break;
			}
		}
	}
	check(1, "refuses a core image cut anywhere");
	struct msg bad = core_image(1, 0, 0);
	bad.b[0] ^= 1;
	check(core_caps_parse(bad.b, bad.n, &caps) != 0, "refuses another magic");
	bad = core_image(1, 0, 0);
	bad.b[8] = 0xff, bad.b[9] = 0xff;
	check(core_caps_parse(bad.b, bad.n, &caps) != 0, "refuses a length past the end of the file");
	srand(7);
	for (int round = 0; round < 20000; round++) {
		struct msg image = core_image((uint64_t)rand() << 20 | (uint64_t)rand(), 0, round & 1);
		for (int flips = 1 + rand() % 4; flips > 0; flips--)
			image.b[12 + rand() % (image.n - 12)] = (uint8_t)rand();
		core_caps_parse(image.b, image.n, &caps);
	}
	check(1, "survives 20000 corrupted core images");

	struct privileges container = { .caps_known = 1, .permitted = 1ull << 40 | 1ull << 8, .bounding = 1ull << 40 | 1ull << 8 };
	struct crac_error error = { 0 };
	check(restore_capability_problem(1ull << 40 | 1ull << 8, 0, &container, &error) == 0, "gives back what it has");
	int refused = restore_capability_problem(1ull << 40 | 1ull << 8 | 1 | 1ull << 5, 0, &container, &error);
	check(refused != 0 && strcmp(error.code, "CRAC_ECRIU_CAPS") == 0 && strstr(error.message, "had cap_chown, cap_kill,") &&
		      strstr(error.message, "--cap-add CHOWN --cap-add KILL (Kubernetes"),
	      "refuses what it lacks, naming each capability and its --cap-add");
	check(restore_capability_problem(0, 1ull << 8, &container, &error) == 0, "an inheritable one within the bounding set");
	check(restore_capability_problem(0, 1, &container, &error) != 0, "refuses an inheritable one outside it");
	printf("%d failure(s)\n", failures);
	return failures ? 1 : 0;
}
