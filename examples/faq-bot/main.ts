/**
 * `npm run faq-bot -- --server URL --username NAME --password PW [--faq FILE] [--state DIR]`:
 * the FAQ bot as a process beside `npm start` (README.md in this folder). The first run
 * registers the bot account (kind `bot`); later runs log in with the state kept in `--state`.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { createClient, isApiError } from '@sotto/client';
import { createSqliteStore } from '@sotto/client/node';
import { parseFaq } from './src/faq.ts';
import { runFaqBot } from './src/bot.ts';

const { values } = parseArgs({
  options: {
    server: { type: 'string', default: 'http://localhost:8080' },
    mqtt: { type: 'string', default: 'mqtt://localhost:1883' },
    username: { type: 'string', default: 'faq_bot' },
    password: { type: 'string', default: process.env.FAQ_BOT_PASSWORD },
    faq: { type: 'string', default: join(import.meta.dirname, 'faq.yaml') },
    state: { type: 'string', default: join(import.meta.dirname, '.state') },
  },
});
if (!values.password) {
  console.error('faq-bot: give --password (or FAQ_BOT_PASSWORD)');
  process.exit(2);
}
const faq = parseFaq(readFileSync(values.faq, 'utf8'));
mkdirSync(values.state, { recursive: true, mode: 0o700 });
const client = createClient({
  store: createSqliteStore({ path: join(values.state, 'bot.db') }),
  http: { baseUrl: values.server },
  mqttConnect: (o) => mqtt.connect(values.mqtt, o),
});
if (!client.account) {
  try {
    await client.register(values.username, values.password, { kind: 'bot' });
  } catch (err) {
    if (!isApiError(err, 'USERNAME_TAKEN')) throw err;
    await client.login(values.username, values.password, { kind: 'bot' });
  }
}
await client.start();
runFaqBot(client, faq, (err) => console.error('faq-bot:', err));
console.log(`faq-bot: ${client.account?.username} answers ${faq.length} questions`);
process.on('SIGINT', () => void client.close().then(() => process.exit(0)));
