/** `output: 'standalone'` also gives .next/standalone/server.js, the Next.js way to run in a container. */
export default { output: 'standalone', poweredByHeader: false };
