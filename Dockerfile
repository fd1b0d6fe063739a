# Production-like image: the compiled JavaScript (npm run build → dist/), as `npm start` runs it
# after `npm ci`. Compiled, each process skips tsx's loader thread (about 60 MB less per worker).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
RUN npm ci --no-audit --no-fund --ignore-scripts && npm run build

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# --ignore-scripts: the prepare script builds, which needs the dev dependencies; dist/ comes from
# the build stage instead.
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts
COPY bin ./bin
COPY src ./src
COPY sql ./sql
COPY demo ./demo
# Built from these same sources after they were copied, so its stamp is newer than each of them
# (bin/compiled.js runs dist/ only then, and the sources through tsx otherwise).
COPY --from=build /app/dist ./dist
# The embedded database (no DATABASE_URL) lives in DATA_DIR: it must belong to the user the process
# runs as, or the first start fails. A named volume mounted here starts with this ownership.
ENV DATA_DIR=/data
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000
# Follows PORT (the same variable the server listens on), read when the check runs.
HEALTHCHECK --interval=30s --timeout=3s --start-period=60s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "bin/tributary.js", "start"]
