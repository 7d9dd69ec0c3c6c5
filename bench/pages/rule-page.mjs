// Item 1 in Chromium: one evaluator per page load (see bench/lib/browser.mjs).
import { checkAgreement, timeBatch } from '../lib/rule-peers.mjs';
import { browserEnv } from './browser-env.mjs';

window.benchCheck = () => checkAgreement(browserEnv);
window.benchTime = (id, n, warmup) => timeBatch(id, n, warmup, browserEnv);
document.body.dataset.ready = '1';
