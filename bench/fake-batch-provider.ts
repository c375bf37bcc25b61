// An OpenAI-shaped fake with its Files and Batch API, for the discount benchmark: chat calls answer
// at once; every provider batch completes 2 s after it is created.
import { startFakeProvider } from '@sluice/providers/testing';

const fake = await startFakeProvider('openai');
fake.batches.setDefault({ delayMs: Number(process.env.BATCH_MS ?? 2_000) });
console.log(`LISTENING ${new URL(fake.url).port}`);
process.on('SIGTERM', () => void fake.close().then(() => process.exit(0)));
