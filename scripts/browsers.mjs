// The browsers Rekindle supports (docs/page-runtime.md, "Browsers"), as
// esbuild targets: the script-tag build is built for them, and the benchmark
// bundles the peers' packages for the same browsers, so that sizes compare
// like for like.
export const BROWSER_TARGETS = ['chrome91', 'edge91', 'firefox90', 'safari15'];
