# One image for both processes: `npm run api` or `npm run worker`.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
COPY packages/shared/package.json packages/shared/
COPY packages/providers/package.json packages/providers/
COPY packages/engine/package.json packages/engine/
COPY apps/api/package.json apps/api/
COPY apps/worker/package.json apps/worker/
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY packages packages
COPY apps apps
COPY scripts scripts
USER node
EXPOSE 8080
CMD ["npm", "run", "api"]
