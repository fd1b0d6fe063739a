import { html, type SafeHtml } from './html.ts';

export interface PageFrame {
  /** Text of <title>, escaped here. */
  title: string;
  /** Extra elements for <head> (feed autodiscovery links). */
  head?: SafeHtml;
  /** Content of <header> after the site name. */
  header?: SafeHtml;
  main: SafeHtml;
}

/** The frame every reader page shares: one stylesheet, no script, the site name linking home. */
export function renderPage(p: PageFrame): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${p.title}</title>
<link rel="stylesheet" href="/assets/reader.css">
${p.head ?? ''}</head>
<body>
<header>
<h1><a href="/">Tributary</a></h1>
${p.header ?? ''}</header>
<main>
${p.main}
</main>
</body>
</html>
`.value;
}
