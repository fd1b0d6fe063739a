import { PGlite } from '@electric-sql/pglite';
let t=Date.now();
const db = await PGlite.create();
console.log('init', Date.now()-t);
const r = await db.query("select 1::int8 as a, now() as n, '{a,b}'::text[] as arr, '[1]'::jsonb as j, to_tsvector('arabic','دير الزور') as v, websearch_to_tsquery('italian','sconfitte') q");
console.log(r.rows);
t=Date.now(); const dump = await db.dumpDataDir('none'); console.log('dump', Date.now()-t, dump.size);
t=Date.now(); const db2 = await PGlite.create({loadDataDir: dump}); console.log('load', Date.now()-t);
console.log((await db2.query('select 2 as x')).rows);
