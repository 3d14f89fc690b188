import assert from 'node:assert/strict';
import { type ControlReply, MAX_CONTROL_LINE } from '../control-socket.js';
import { parseReply } from '../trigger-client.js';
import { jsonShape } from './request-target.js';
import { assertPrototypeClean, type FuzzTarget, isPlainObject } from './target.js';

/**
 * `parseReply(line)`, the requester's reader of the app's reply line: it never throws, and
 * returns undefined or a reply whose fields have exactly the types PROTOCOL.md gives them.
 */
export function controlReplyTarget(): FuzzTarget {
  return {
    name: 'control_reply',
    maxInputLength: MAX_CONTROL_LINE + 4096,
    execute(input) {
      const line = input.toString('utf8');
      const reply = parseReply(line);
      assertPrototypeClean();
      if (reply === undefined) return `refused ${jsonShape(line)}`;
      assertReply(reply);
      return `${reply.event} ${jsonShape(line)}`;
    },
  };
}

/** The reply's fields have the types of its event (what the requester then reads without checking). */
export function assertReply(reply: ControlReply): void {
  assert.ok(isPlainObject(reply), 'a reply is a plain object');
  assert.equal(typeof reply.id, 'string', 'id is a string');
  switch (reply.event) {
    case 'accepted':
    case 'unknown':
      return;
    case 'dumping':
      assert.ok(reply.imagesDir === undefined || typeof reply.imagesDir === 'string', 'imagesDir is a string');
      return;
    case 'settled':
      assert.ok(reply.outcome === undefined || typeof reply.outcome === 'string', 'outcome is a string');
      if (reply.error !== undefined) assertError(reply.error);
      return;
    case 'refused':
      assertError(reply.error);
      return;
    default:
      assert.fail(`an unknown event was accepted: ${JSON.stringify((reply as { event: unknown }).event)}`);
  }
}

function assertError(error: unknown): void {
  assert.ok(isPlainObject(error), 'error is an object');
  assert.equal(typeof error.message, 'string', 'error.message is a string');
  assert.ok(error.code === undefined || typeof error.code === 'string', 'error.code is a string');
}
