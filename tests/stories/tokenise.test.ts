import { describe, expect, it } from 'vitest';
import { tokenise } from '../../src/stories/normalise.ts';
import { tokenise as referenceTokenise } from './normalise-reference.ts';
import { loadLabelledSet } from './labelled-set.ts';

/**
 * The word-cached tokeniser must give exactly the tokens of the uncached one it replaced: the
 * labelled set's quality numbers rest on them. Each text is tokenised twice so the second pass
 * reads every word from the cache.
 */
const LANGS = ['en', 'it', 'fr', 'ar', 'und'];

function expectSameTokens(text: string, lang: string, max?: number) {
  const expected = referenceTokenise(text, lang, max);
  expect(tokenise(text, lang, max), `${lang}: ${text}`).toEqual(expected);
  expect(tokenise(text, lang, max), `${lang} (cached): ${text}`).toEqual(expected);
}

describe('cached tokeniser', () => {
  it('equals the reference tokeniser on every headline and lead of the labelled set', () => {
    const set = loadLabelledSet();
    for (const x of set) {
      const lang = x.language.slice(0, 2);
      expectSameTokens(x.title, lang);
      expectSameTokens(x.lead, lang);
      expectSameTokens(x.lead, lang, 30);
      expectSameTokens(x.lead, lang, 3);
      // The same words under another language's stop words and stemming: the cache is per language.
      expectSameTokens(x.title, lang === 'ar' ? 'en' : 'ar');
    }
  });

  it('equals the reference tokeniser on tricky input', () => {
    const texts = [
      // Arabic: tashkeel, tatweel, hamza forms, alef maqsura, ta marbuta, Eastern digits, punctuation.
      'مَعْبَرُ البوكمال يُعـــاد فتحه؟ ٢٠٢٦ — أُعيد إفتتاح المستشفى والمدرسة، ۱۲ قتيلاً.',
      'سوريا / سورية: العراقية والعراق؛ بالمعبر وللمعبر فالمعبر كالمعبر وبالمعبر',
      // Hyphenated names, unicode hyphens, numbers with separators, a number glued to a word.
      'Deir ez-Zor, Al‐Qaim and Abu‑Kamal: COVID-19 cases 1,234.5 up 4,5% on 3rd day; 10.000 euro',
      '-leading hyphen, trailing- hyphen, double--hyphen, 1.2.3.4 and 1..2 and ,5 and 5,',
      // Accents and case, sentence starts after various punctuation, elided articles.
      "Séisme à Marrakech. L'ÉTAT d'urgence « Décrété » ; Ça va? Öl und Straße! Ærø ÉZZOR",
      "dell'Isis all’ONU: l’esercito e l'UE «Più» forti",
      // Astral characters, combining marks on Latin, non-breaking spaces, digits in other scripts.
      'Emoji 🙂 test 𝐀𝐁𝐂 word e\u0301t\u00e9\u00a0Paris \u0967\u0968 \uff11\uff12 x\u0300y',
      '',
      '   ',
      'A',
    ];
    for (const text of texts) for (const lang of LANGS) for (const max of [undefined, 2, 30]) expectSameTokens(text, lang, max);
  });
});
