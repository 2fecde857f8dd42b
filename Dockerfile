# derivd: multi-stage build for the classic builder (no BuildKit features).
#   docker build -t derivd:latest .          (add --network host where the daemon has no bridge)
#   docker run -p 8080:8080 derivd:latest
# NODE_VERSION picks the Node.js major of both stages: 24, the newer LTS line (supported
# to April 2028; 22 ends in April 2027), by default. --build-arg NODE_VERSION=22 works too,
# and so does 20 (past end of life; the only base image the offline machine has, see
# scripts/docker-smoke.sh).
ARG NODE_VERSION=24

# Build stage: every dependency, then the TypeScript build and the playground page
# (Vite, into dist/playground/, which the runtime stage copies with the rest of dist/).
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p tsconfig.json
COPY playground ./playground
RUN npx vite build --config playground/vite.config.ts --logLevel warn

# Runtime stage: production dependencies and the compiled code only.
FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production \
    PORT=8080 \
    HOST=0.0.0.0 \
    LOG_LEVEL=info
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
USER node
EXPOSE 8080
# The slim image has no curl or wget: node asks /readyz itself.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node is PID 1 and handles SIGTERM itself (drain, then exit 0); never `npm start` here.
CMD ["node", "dist/server/main.js"]
