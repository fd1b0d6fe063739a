export { createFetcher, type Fetcher, type FetcherDeps } from './fetcher.ts';
export { decodeFeedBytes, charsetFromContentType, type DecodedText } from './charset.ts';
export {
  checkFeedUrl,
  isAllowedAddress,
  refusalReason,
  createGuardedAgent,
  createGuardedConnector,
  BlockedAddressError,
  defaultLookup,
  type AddressAllowList,
  type FeedUrlCheck,
  type LookupAll,
  type LookupAddress,
} from './address-guard.ts';
export { parseRetryAfter, parseFreshForSeconds } from './cache-headers.ts';
export type * from './types.ts';
