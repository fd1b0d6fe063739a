import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeFeedBytes } from '../../src/fetch/charset.ts';
import { parseFeed } from '../../src/parse/index.ts';

const FEEDS = new URL('../fixtures/feeds/', import.meta.url);
const bytes = (name: string): Buffer => readFileSync(new URL(name, FEEDS));
const text = (name: string): string => bytes(name).toString('utf8');

describe('levant-wordpress.rss.xml (WordPress RSS 2.0)', async () => {
  const parsed = await parseFeed(text('levant-wordpress.rss.xml'), { baseUrl: 'https://levantnews.example/feed/' });

  it('reads the channel', () => {
    expect(parsed.format).toBe('rss2');
    expect(parsed.feed).toEqual({ title: 'Levant News Wire', link: 'https://levantnews.example/', language: 'en-US', ttl_seconds: 3600 });
    expect(parsed.items).toHaveLength(5);
  });

  it('normalises the Deir Ezzor item', () => {
    expect(parsed.items[0]).toEqual({
      guid: 'https://levantnews.example/?p=1234',
      url: 'https://levantnews.example/2017/11/syria-deir-ezzor-abu-kamal-crossing/',
      title: 'Syria, new defeat for Isis in Deir Ezzor: the Abu Kamal crossing with Iraq reopens',
      published: '2017-11-09T16:30:00.000Z',
      updated: null,
      author: 'Rania Haddad',
      categories: ['Syria', 'Iraq', 'Isis'],
      enclosures: [{ url: 'https://levantnews.example/wp-content/uploads/2017/11/abu-kamal-crossing.jpg', type: 'image/jpeg', length: 184320 }],
      summary:
        'Government forces and their allies took the border town of Al-Bukamal, the last urban stronghold of Isis in the Deir Ezzor province. The Abu Kamal crossing with Iraq reopens after three years. […]',
      content_html:
        '<p>Government forces and their allies have taken the border town of <strong>Al-Bukamal</strong> (Abu Kamal), the last urban stronghold of Isis in the Deir Ezzor province, a military source told <em>Levant News Wire</em>.</p>\n' +
        '<figure><img alt="The Abu Kamal border crossing" width="800" height="450" src="https://levantnews.example/wp-content/uploads/2017/11/abu-kamal-crossing.jpg" /><figcaption>The Abu Kamal crossing, seen from the Iraqi side.</figcaption></figure>\n' +
        '<p>Iraqi troops secured Al-Qaim on the other side of the border last week. The crossing between Syria and Iraq, closed since 2014, is expected to reopen to trade within days.</p>\n\n' +
        '<blockquote><p>“Deir Ezzor is free,” the governor said.</p></blockquote>\n' +
        '<p><a rel="noopener noreferrer" href="https://levantnews.example/2017/09/deir-ezzor-siege-broken/">Background: how the siege of Deir Ezzor was broken</a></p>',
    });
  });

  it('decodes entities in titles and takes the text of categories with a domain', () => {
    expect(parsed.items[1]?.title).toBe('Lebanon’s parliament & the budget: a first in twelve years');
    expect(parsed.items[3]?.categories).toEqual(['Iraq', 'Energy']);
  });
});

describe('mediterranean-wire.atom.xml (Atom 1.0)', async () => {
  const parsed = await parseFeed(text('mediterranean-wire.atom.xml'), { baseUrl: 'https://medwire.example/news/feed.atom' });

  it('reads the feed', () => {
    expect(parsed.format).toBe('atom1');
    expect(parsed.feed).toEqual({ title: 'Mediterranean Wire — Latest', link: 'https://medwire.example/', language: 'en-GB', ttl_seconds: null });
    expect(parsed.items).toHaveLength(4);
  });

  it('normalises the syndicated Deir Ezzor entry (rel-less link wins over self)', () => {
    expect(parsed.items[0]).toEqual({
      guid: 'tag:medwire.example,2017:entry-8812',
      url: 'https://levantnews.example/2017/11/syria-deir-ezzor-abu-kamal-crossing/?utm_source=medwire&utm_medium=rss',
      title: 'Syria, new defeat for Isis in Deir Ezzor: the Abu Kamal crossing with Iraq reopens',
      published: '2017-11-09T16:45:00.000Z',
      updated: '2017-11-09T17:10:00.000Z',
      author: 'Rania Haddad, Mediterranean Wire Desk',
      // Atom categories are their term; the label is only display text.
      categories: ['syria', 'iraq', 'conflict'],
      enclosures: [],
      summary: 'Syndicated from Levant News Wire: Isis loses Al-Bukamal, the Abu Kamal crossing between Syria and Iraq reopens.',
      content_html:
        '<p>Government forces took <strong>Al-Bukamal</strong>, the last Isis stronghold in the Deir Ezzor province, on the border with Iraq.</p>' +
        '<p><img alt="Abu Kamal" src="https://medwire.example/news/images/abu-kamal.jpg" /></p>',
    });
  });

  it('uses entry xml:base, html titles, enclosure links, xhtml content without its wrapper div and the feed author', () => {
    expect(parsed.items[1]).toMatchObject({
      url: 'https://medwire.example/news/2017/11/cyprus-talks-resume',
      title: 'Cyprus talks: Guterres "cautiously optimistic" & envoys return',
      author: 'Mediterranean Wire Desk',
      enclosures: [{ url: 'https://medwire.example/news/2017/11/audio/cyprus-talks.mp3', type: 'audio/mpeg', length: 2097152 }],
      summary: 'UN envoys return to Nicosia as talks resume. Both sides welcomed the move.',
      content_html:
        '<p>UN envoys return to <a rel="noopener noreferrer" href="https://medwire.example/news/2017/11/cyprus-background">Nicosia</a> as <em>talks</em> resume.</p><p>Both sides welcomed the move.</p>',
    });
  });

  it('keeps a text title as is and an invalid date as null without rejecting the feed', () => {
    expect(parsed.items[3]).toMatchObject({
      title: 'Tunisia & Libya agree on Ras Jedir crossing hours',
      published: '2017-11-08T06:20:00.000Z',
      updated: null,
    });
  });
});

describe('maghreb-digest.rdf (RSS 1.0)', async () => {
  const parsed = await parseFeed(text('maghreb-digest.rdf'), { baseUrl: 'https://maghreb-digest.example/rss' });

  it('reads the channel, with sy:updatePeriod as the refresh hint', () => {
    expect(parsed.format).toBe('rss1');
    expect(parsed.feed).toEqual({ title: 'Maghreb Digest', link: 'https://maghreb-digest.example/', language: 'fr', ttl_seconds: 21600 });
    expect(parsed.items).toHaveLength(3);
  });

  it('normalises a French item with dc:date and dc:creator', () => {
    expect(parsed.items[2]).toEqual({
      guid: 'https://maghreb-digest.example/2017/11/07/tunisie-saison-touristique',
      url: 'https://maghreb-digest.example/2017/11/07/tunisie-saison-touristique',
      title: 'Tunisie : une saison touristique meilleure que prévu',
      published: '2017-11-07T09:00:00.000Z',
      updated: null,
      author: 'Nadia Belkacem',
      categories: ['Tunisie', 'Économie'],
      enclosures: [],
      summary: 'Les arrivées de touristes européens ont progressé de 23 % sur un an.',
      content_html: null,
    });
  });
});

describe('gulf-briefing.json (JSON Feed 1.1)', async () => {
  const parsed = await parseFeed(text('gulf-briefing.json'), { baseUrl: 'https://gulfbriefing.example/feed.json' });

  it('reads the feed', () => {
    expect(parsed.format).toBe('jsonfeed');
    expect(parsed.feed).toEqual({ title: 'Gulf Briefing', link: 'https://gulfbriefing.example/', language: 'en', ttl_seconds: null });
    expect(parsed.items).toHaveLength(3);
  });

  it('normalises an item with attachments, a numeric id and the feed author', () => {
    expect(parsed.items[1]).toEqual({
      guid: '20171108',
      url: 'https://gulfbriefing.example/2017/11/08/dubai-port-podcast',
      title: 'Podcast: Jebel Ali and the new Silk Road',
      published: '2017-11-08T09:00:00.000Z',
      updated: null,
      author: 'Gulf Briefing Staff',
      categories: ['Podcast', 'Trade'],
      enclosures: [
        { url: 'https://cdn.gulfbriefing.example/podcast/ep42.mp3', type: 'audio/mpeg', length: 31457280 },
        { url: 'https://gulfbriefing.example/podcast/ep42-transcript.pdf', type: 'application/pdf', length: null },
      ],
      summary: "This week: how Dubai's Jebel Ali port fits China's Belt and Road plans.",
      content_html: "<p>This week: how Dubai's Jebel Ali port fits China's Belt and Road plans.</p>",
    });
  });

  it('sanitises content_html, dedupes tags and escapes content_text into paragraphs', () => {
    expect(parsed.items[0]).toMatchObject({
      title: 'OPEC & allies weigh extending output cuts to end of 2018',
      published: '2017-11-09T10:00:00.000Z',
      updated: '2017-11-09T11:30:00.000Z',
      author: 'Aisha Al-Mansouri',
      categories: ['Energy', 'OPEC', 'Saudi Arabia'],
      content_html:
        '<p>Saudi Arabia and Russia signalled support for an extension of the <a rel="noopener noreferrer" href="https://gulfbriefing.example/tags/opec">OPEC</a>+ supply deal.</p><img alt="Vienna" src="https://gulfbriefing.example/media/opec-vienna.jpg" />',
    });
    expect(parsed.items[2]).toMatchObject({
      summary: 'Doha filed a new request with the UN aviation body on Tuesday. The blockading states say the restrictions are <lawful> & temporary.',
      content_html:
        '<p>Doha filed a new request with the UN aviation body on Tuesday.</p><p>The blockading states say the restrictions are &lt;lawful&gt; &amp; temporary.</p>',
    });
  });
});

describe('sham-arabic.rss.xml (Arabic RSS 2.0)', async () => {
  const parsed = await parseFeed(text('sham-arabic.rss.xml'), { baseUrl: 'https://sham-news.example/rss' });

  it('reads the channel with <ttl> in minutes', () => {
    expect(parsed.format).toBe('rss2');
    expect(parsed.feed).toEqual({ title: 'شام نيوز', link: 'https://sham-news.example/', language: 'ar', ttl_seconds: 1800 });
  });

  it('normalises the Deir Ezzor item', () => {
    expect(parsed.items[0]).toEqual({
      guid: 'https://sham-news.example/2017/11/09/deir-ezzor-albukamal',
      url: 'https://sham-news.example/2017/11/09/deir-ezzor-albukamal',
      title: 'دير الزور: الجيش يسيطر على البوكمال ويعيد فتح المعبر مع العراق',
      published: '2017-11-09T16:05:00.000Z',
      updated: null,
      author: 'قسم الأخبار',
      categories: ['سوريا', 'دير الزور'],
      enclosures: [],
      summary: 'أعلنت مصادر عسكرية السيطرة الكاملة على مدينة البوكمال في ريف دير الزور الشرقي، آخر معاقل تنظيم داعش في المنطقة.',
      content_html: '<p>أعلنت مصادر عسكرية السيطرة الكاملة على مدينة البوكمال في ريف دير الزور الشرقي، آخر معاقل تنظيم داعش في المنطقة.</p>',
    });
  });
});

describe('corriere-mediterraneo-1252.rss.xml (windows-1252 bytes)', async () => {
  const raw = bytes('corriere-mediterraneo-1252.rss.xml');
  const parsed = await parseFeed(decodeFeedBytes(raw, null).text, { baseUrl: null });

  it('is really windows-1252 on disk', () => {
    expect(raw.includes(0x93)).toBe(true); // “ exists only in 1252
    expect(raw.includes(0x80)).toBe(true); // €
    expect(raw.toString('utf8')).toContain('\ufffd'); // not valid UTF-8
  });

  it('reads the channel', () => {
    expect(parsed.format).toBe('rss2');
    expect(parsed.feed).toEqual({
      title: 'Corriere del Mediterraneo – Esteri',
      link: 'https://corriere-mediterraneo.example/esteri/',
      language: 'it-IT',
      ttl_seconds: 900,
    });
  });

  it('normalises the Deir Ezzor item, with an Italian day name in the date', () => {
    expect(parsed.items[0]).toEqual({
      guid: 'https://corriere-mediterraneo.example/esteri/2017/11/09/siria-deir-ezzor-abu-kamal',
      url: 'https://corriere-mediterraneo.example/esteri/2017/11/09/siria-deir-ezzor-abu-kamal',
      title: "Siria, nuova sconfitta per l'Isis a Deir Ezzor: riapre il valico di Abu Kamal con l'Iraq",
      published: '2017-11-09T17:20:00.000Z',
      updated: null,
      author: 'Marco Bellini',
      categories: ['Esteri', 'Siria'],
      enclosures: [],
      summary:
        'Le forze governative hanno conquistato Al-Bukamal, l’ultima città controllata dall’Isis nella provincia di Deir Ezzor. “È una vittoria decisiva”, ha detto un comandante.',
      content_html:
        '<p>Le forze governative hanno conquistato Al-Bukamal, l’ultima città controllata dall’Isis nella provincia di Deir Ezzor. “È una vittoria decisiva”, ha detto un comandante.</p>',
    });
  });

  it('keeps the characters only windows-1252 has', () => {
    expect(parsed.items.map((i) => i.title)).toEqual([
      "Siria, nuova sconfitta per l'Isis a Deir Ezzor: riapre il valico di Abu Kamal con l'Iraq",
      'Perché la città di Beirut è tornata a crescere',
      'Malta, un bond da 500 milioni di € per il porto: “è la scelta giusta”',
    ]);
    expect(parsed.items[1]?.published).toBe('2017-11-08T09:00:00.000Z'); // CET
  });
});
