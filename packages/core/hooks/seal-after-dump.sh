#!/bin/sh
# crac-node: CRIU's action script at a checkpoint (configured by src/image/seal-hook.ts, which
# also puts CRAC_SEAL_* in CRIU's environment). At post-dump, while the dumped process is still
# frozen, it seals the image and puts it in place; if that fails, CRIU fails the dump and the
# process runs on. Every other action is none of its business.
[ "$CRTOOLS_SCRIPT_ACTION" = post-dump ] || exit 0
# the app's own NODE_OPTIONS (crac's preloaded trigger, an inspector...) are not the sealer's
unset NODE_OPTIONS
exec "$CRAC_SEAL_NODE" --no-warnings "$CRAC_SEAL_ENTRY"
