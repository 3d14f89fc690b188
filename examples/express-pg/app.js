// express-pg: a notes API over PostgreSQL. Two lines make it checkpointable:
// app.use(cracExpress()) and cracPg(pool). Settings from the environment: PORT, DATABASE_URL.
import { randomUUID } from 'node:crypto';
import { cracExpress } from '@crac/express';
import { cracPg } from '@crac/pg';
import express from 'express';
import pg from 'pg';

// fromEnv: after a restore, DATABASE_URL / PG* of the restoring environment apply
const pool = cracPg(new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 8 }), { fromEnv: true });

await pool.query(`CREATE TABLE IF NOT EXISTS notes (
  id serial PRIMARY KEY, title text NOT NULL, body text NOT NULL, created timestamptz NOT NULL DEFAULT now())`);
const { rows } = await pool.query('SELECT count(*)::int AS count FROM notes');
if (rows[0].count === 0) {
  await pool.query("INSERT INTO notes (title, body) SELECT 'note ' || n, repeat('lorem ipsum ', 20) FROM generate_series(1, 500) AS n");
}

const app = express();
app.use(cracExpress());
app.use(express.json());

app.get('/notes', async (request, response) => {
  const limit = Math.min(Number(request.query.limit ?? 20), 100);
  const { rows: notes } = await pool.query('SELECT id, title FROM notes ORDER BY id LIMIT $1', [limit]);
  response.json(notes);
});
app.get('/notes/:id', async (request, response) => {
  const { rows: notes } = await pool.query('SELECT id, title, body FROM notes WHERE id = $1', [Number(request.params.id)]);
  if (notes.length === 0) return response.status(404).json({ error: 'no such note' });
  response.json(notes[0]);
});
app.post('/notes', async (request, response) => {
  const { title, body } = request.body ?? {};
  if (typeof title !== 'string' || typeof body !== 'string') return response.status(400).json({ error: 'title and body are strings' });
  const { rows: created } = await pool.query('INSERT INTO notes (title, body) VALUES ($1, $2) RETURNING id', [title, body]);
  response.status(201).json(created[0]);
});
app.get('/health', async (_request, response) => {
  await pool.query('SELECT 1');
  response.json({ ok: true, pid: process.pid });
});

// Which copy answers: containers started from one warm image each have their own port, database
// session (application_name of DATABASE_URL) and randomness.
app.get('/instance', async (_request, response) => {
  const { rows: session } = await pool.query("SELECT current_setting('application_name') AS name");
  response.json({ port: Number(process.env.PORT ?? 3000), database: session[0].name, uuid: randomUUID(), random: Math.random() });
});

const port = Number(process.env.PORT ?? 3000);
app.listen(port, '127.0.0.1', () => console.log(JSON.stringify({ event: 'listening', port, pid: process.pid })));
