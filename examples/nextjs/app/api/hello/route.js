// Who answers, and with which environment: the probe of the demo and the tests.
export const dynamic = 'force-dynamic';

export function GET() {
  return Response.json({ framework: 'next', pid: process.pid, port: process.env.PORT ?? null, greeting: process.env.GREETING ?? null });
}
