// One Node process per measurement, so that no evaluator shares a JIT state
// with another:  node rule-child.mjs check
//                node rule-child.mjs time <evaluator id> <n> <warm-up n>
// Prints one JSON line.
import { checkAgreement, timeBatch } from './rule-peers.mjs';
import { nodeEnv } from './node-env.mjs';

const [mode, id, n, warmup] = process.argv.slice(2);
if (mode === 'check') {
  console.log(JSON.stringify({ problems: await checkAgreement(nodeEnv) }));
} else if (mode === 'time') {
  console.log(JSON.stringify({ id, nsPerEval: await timeBatch(id, Number(n), Number(warmup), nodeEnv) }));
} else {
  console.error('usage: rule-child.mjs check | time <id> <n> <warmup>');
  process.exit(2);
}
