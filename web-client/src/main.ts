/**
 * Entry point: defines the shell. Everything heavy (the engine with libsodium and mqtt.js, the
 * QR/safety-number, emoji, search and settings views) is imported on demand by the shell.
 */
import './components/sotto-app.ts';
import { registerAppWorker } from './services/app-worker.ts';

// Offline start and wake-up pushes (docs/WEB.md); the app works without it, so a failure is logged.
registerAppWorker().catch((err: unknown) => console.warn('service worker not registered', err));
