// Bundles src/extension.ts and vscode-languageclient into dist/extension.js (the .vsix ships no node_modules).
import * as esbuild from 'esbuild';

const production = !process.argv.includes('--dev');

await esbuild.build({
    entryPoints: ['src/extension.ts'],
    bundle: true,
    outfile: 'dist/extension.js',
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    external: ['vscode'],
    sourcemap: production ? false : 'inline',
    minify: production,
    logLevel: 'warning',
});
