export const USAGE = `tributary — a self-hosted news feed aggregator

Usage:
  tributary start                      API + worker in one process (what \`npm start\` runs)
  tributary serve                      the HTTP API only
  tributary worker                     the polling worker only
  tributary poll --once [--all]        poll due feeds once (--all: every enabled feed) and exit
  tributary parse <file-or-url> [--base-url URL]
                                       parse a feed and print the normalised JSON
  tributary feeds add <url> [--region R] [--title T] [--all]
                                       subscribe a feed, or the first feed a web page advertises
                                       (--all: every feed it advertises)
  tributary feeds list
  tributary feeds remove <id|url>
  tributary feeds import <opml-file-or-url>
  tributary migrate                    apply database migrations
  tributary --help | --version

Configuration comes from environment variables (see README.md): DATABASE_URL (unset: embedded
PostgreSQL in DATA_DIR, default ./data), PORT, ADMIN_TOKEN, DEMO, FEEDS, ALLOW_PRIVATE_NETWORKS, ...
`;

/** A mistake in how the command was called: printed with a hint, exit code 2. */
export class UsageError extends Error {}

/** A failure the user should read (bad input, unreachable database): printed, exit code 1. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}
