/**
 * Entry point: defines the shell. Everything heavy (the engine with libsodium and mqtt.js, the
 * QR/safety-number, emoji, search and settings views) is imported on demand by the shell.
 */
import './components/sotto-app.ts';
