/**
 * Function words per language, as written; normalise.ts folds them like the text. Short lists on
 * purpose: they only keep grammar out of the similarity, content words all count.
 */
export const RAW_STOP_WORDS: Record<string, string> = {
  en: `a an and are as at be been but by for from had has have he her his how in into is it its
    of on or our over she so than that the their them then there these they this those to up was we
    were what when where which while who will with would after before about against between during
    under since amid says said say according new over more most also not no out off via just
    than after its it's been being can could did do does may might must shall should us you your`,
  it: `il lo la i gli le un uno una di del dello della dei degli delle da dal dallo dalla dai dagli
    dalle in nel nello nella nei negli nelle su sul sullo sulla sui sugli sulle con per tra fra a al
    allo alla ai agli alle e ed o od ma se che chi cui non piu come dove quando anche ancora gia
    sono e' stato stata stati state essere ha hanno ho era erano dopo prima contro verso sotto sopra
    questo questa questi queste quello quella quelli quelle suo sua suoi sue loro nostro dell all
    dall nell sull quell un' l' d' ci si ne mi ti vi secondo oltre senza presso durante`,
  fr: `le la les un une des du de d l au aux et ou mais donc or ni car en dans sur sous par pour
    avec sans chez vers entre contre apres avant depuis pendant selon ce cet cette ces son sa ses
    leur leurs qui que quoi dont ou il elle ils elles on nous vous je tu est sont a ont ete etre
    avoir fait plus moins pas ne se sur lors qu c s n j m t y tout tous toute toutes aussi deja encore`,
  ar: `في من الى إلى على عن مع هذا هذه ذلك تلك التي الذي الذين اللذين ان أن إن او أو ثم قد لقد كان
    كانت يكون تكون بعد قبل بين عند حتى منذ خلال ضد حول لدى غير بعض كل ما لا لم لن هو هي هم هن
    نحن انا أنا انت أنت وقد وفي ومن وعلى كما فيما اما أما وان وأن حيث اي أي أيضا ايضا يوم امس أمس اليوم
    الى عبر وفق وفقا نحو دون فقط قال قالت وقال وقالت`,
};

/**
 * Capitalised in English but not names: a shared weekday or month says little about the event
 * (they still count as ordinary words).
 */
export const NOT_NAMES = new Set(
  `monday tuesday wednesday thursday friday saturday sunday january february march april may june
   july august september october november december`.split(/\s+/).filter(Boolean).map((w) => w.slice(0, 6)),
);
