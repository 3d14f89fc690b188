import assert from 'node:assert/strict';
import { CONTROL_PROTOCOL, type ControlRequest, MAX_CONTROL_LINE, parseControlRequest } from '../control-socket.js';
import { assertPrototypeClean, type FuzzTarget, isPlainObject, typeName } from './target.js';

/**
 * `parseControlRequest(line)`, the app's reader of a requester's line: it never throws, and
 * returns undefined or a request whose fields have exactly the types PROTOCOL.md gives them.
 */
export function controlRequestTarget(): FuzzTarget {
  return {
    name: 'control_request',
    maxInputLength: MAX_CONTROL_LINE + 4096,
    execute(input) {
      const line = input.toString('utf8');
      const request = parseControlRequest(line);
      assertPrototypeClean();
      if (request === undefined) return `refused ${jsonShape(line)}`;
      assertRequest(request);
      return `${request.command} ${jsonShape(line)}`;
    },
  };
}

/** The request's fields have the types of their command (what the server then reads without checking). */
function assertRequest(request: ControlRequest): void {
  assert.ok(isPlainObject(request), 'a request is a plain object');
  assert.equal(request.protocol, CONTROL_PROTOCOL);
  assert.equal(typeof request.id, 'string', 'id is a string');
  switch (request.command) {
    case 'status':
      return;
    case 'checkpoint':
      assert.ok(request.imagesDir === undefined || typeof request.imagesDir === 'string', 'imagesDir is a string');
      assert.ok(request.leaveRunning === undefined || typeof request.leaveRunning === 'boolean', 'leaveRunning is a boolean');
      return;
    case 'prepare':
      assert.ok(
        request.holdMs === undefined || (typeof request.holdMs === 'number' && Number.isFinite(request.holdMs) && request.holdMs > 0),
        'holdMs is a positive finite number',
      );
      return;
    default:
      assert.fail(`an unknown command was accepted: ${JSON.stringify((request as { command: unknown }).command)}`);
  }
}

/** A word for the JSON a line holds: not JSON, or its type and the types of the fields a request or a reply has. */
export function jsonShape(line: string): string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return 'not-json';
  }
  if (!isPlainObject(value)) return typeName(value);
  const fields = ['protocol', 'id', 'command', 'imagesDir', 'leaveRunning', 'holdMs', 'event', 'outcome', 'error'];
  return fields
    .filter((field) => Object.hasOwn(value, field))
    .map((field) => `${field}:${typeName(value[field])}`)
    .join(',');
}
