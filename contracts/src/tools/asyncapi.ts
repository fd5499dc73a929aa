import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildAsyncApiDocument } from '../asyncapi';

/** `npm run asyncapi`: regenerates contracts/asyncapi.json from the contracts. */
const target = join(__dirname, '..', '..', 'asyncapi.json');
writeFileSync(target, `${JSON.stringify(buildAsyncApiDocument(), null, 2)}\n`);
console.log(`wrote ${target}`);
