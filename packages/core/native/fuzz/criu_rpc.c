/* criu_rpc.c - libFuzzer target: the decoder of CRIU's RPC replies (lib/criu/criu_rpc.c), which
 * runs inside the app being dumped, on what another process sent. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "criu/criu_rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	struct criu_resp resp;
	memset(&resp, 0, sizeof(resp));
	criu_rpc_decode_resp(copy, size, &resp);
	free(copy);
	return 0;
}
