export { startWorker, type WorkerRuntime } from './worker-runtime.ts';
