export { startWorker, type WorkerOptions, type WorkerRuntime } from './worker-runtime.ts';
