import { describe, expect, it } from 'vitest';
import { foldText, languageKey, tokenise } from '../../src/stories/normalise.ts';
import { storyFeatures, STRONG, IN_TITLE } from '../../src/stories/features.ts';

const keys = (text: string, lang: string) => tokenise(text, lang).map((t) => t.key);

describe('story text normalisation', () => {
  it('folds case and Latin diacritics', () => {
    expect(foldText('Été À Deir ÉZZOR')).toBe('ete a deir ezzor');
    expect(keys('Séisme à Marrakech', 'fr')).toEqual(keys('SEISME a marrakech', 'fr'));
  });

  it('folds Arabic letter variants, tashkeel and tatweel', () => {
    // Hamza carriers, alef wasla, alef maqsura, ta marbuta; vowel marks and a stretched letter.
    expect(foldText('أإآٱ')).toBe('اااا');
    expect(foldText('مستشفى')).toBe('مستشفي');
    expect(foldText('مدرسة')).toBe('مدرسه');
    expect(foldText('مَعْبَرُ')).toBe('معبر');
    expect(foldText('معـــبر')).toBe('معبر');
    expect(foldText('٢٠٢٦')).toBe('2026');
  });

  it('strips the Arabic article, attached conjunctions and variant endings', () => {
    expect(keys('والمعبر', 'ar')).toEqual(keys('معبر', 'ar'));
    expect(keys('سوريا', 'ar')).toEqual(keys('سورية', 'ar'));
    expect(keys('العراقية', 'ar')).toEqual(keys('عراق', 'ar'));
    // Names ending like a dual are left alone.
    expect(keys('إيران', 'ar')).toEqual(['ايران']);
  });

  it('drops stop words and elided articles per language', () => {
    expect(keys("l'esercito dell'Isis a Deir Ezzor", 'it')).toEqual(['eserci', 'isis', 'deir', 'ezzor']);
    expect(keys("la défaite de l'EI", 'fr')).toEqual(['defait', 'ei']);
    expect(keys('The crossing with Iraq reopens', 'en')).toEqual(['crossi', 'iraq', 'reopen']);
    expect(keys('في دير الزور', 'ar')).toEqual(['دير', 'زور']);
  });

  it('keeps hyphenated names together and numbers whole', () => {
    expect(keys('Deir ez-Zor', 'en')).toEqual(keys('Deir Ezzor', 'en'));
    expect(keys('euro at 1.0832, rate 4,5%', 'en')).toEqual(['euro', '1.0832', 'rate', '4.5']);
  });

  it('guesses Arabic for an undeclared language in Arabic script, and uses the primary subtag', () => {
    expect(languageKey(null, 'زلزال قوي')).toBe('ar');
    expect(languageKey(null, 'Strong quake')).toBe('und');
    expect(languageKey('it-IT', '')).toBe('it');
    expect(languageKey('EN_gb', '')).toBe('en');
  });

  it('marks names, places and numbers as strong, headline words as in the title', () => {
    const f = storyFeatures({
      title: 'Strong earthquake strikes eastern Turkey',
      summary: 'A magnitude 5.9 earthquake struck Van province in eastern Turkey on Monday, the AFAD agency said.',
      language: 'en',
    });
    expect(f.get('turkey')).toBe(STRONG | IN_TITLE);
    expect(f.get('5.9')).toBe(STRONG);
    expect(f.get('van')).toBe(STRONG);
    expect(f.get('earthq')).toBe(IN_TITLE);
    // A weekday is capitalised in English but is not a name.
    expect(f.get('monday')).toBe(0);
  });
});
