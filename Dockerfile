# Production-like image: the TypeScript sources run through tsx, as `npm start` does.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY src ./src
COPY sql ./sql
COPY demo ./demo
# The embedded database (no DATABASE_URL) lives in DATA_DIR: it must belong to the user the process
# runs as, or the first start fails. A named volume mounted here starts with this ownership.
ENV DATA_DIR=/data
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000
# Follows PORT (the same variable the server listens on), read when the check runs.
HEALTHCHECK --interval=30s --timeout=3s --start-period=60s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "bin/tributary.js", "start"]
