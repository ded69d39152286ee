// The service worker of the tablet app: the visit form, its scripts and the officer's
// enterprise list stay available without network. Visits themselves are queued by the page
// (static/js/visit-form.js) in IndexedDB, never here.
"use strict";

// Change VERSION when SHELL changes; the files themselves are refreshed on every use.
const VERSION = "crm-2026-11-25";
const STATIC_CACHE = `${VERSION}-static`;
const PAGE_CACHE = "crm-pages";
const FORM_URL = "/visits/new";
const ENTERPRISES_URL = "/visits/enterprises.json";
const SHELL = [
  "/static/vendor/bootstrap/bootstrap.min.css",
  "/static/vendor/bootstrap/bootstrap.bundle.min.js",
  "/static/vendor/bootstrap-icons/subset/bootstrap-icons.css",
  "/static/vendor/bootstrap-icons/subset/bootstrap-icons.woff2",
  "/static/vendor/htmx/htmx.min.js",
  "/static/css/app.css",
  "/static/js/app.js",
  "/static/js/visit-form.js",
  "/static/img/favicon.svg",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(STATIC_CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(
        keys.filter((key) => key !== STATIC_CACHE && key !== PAGE_CACHE).map((key) => caches.delete(key)),
      ))
      .then(() => self.clients.claim()),
  );
});

// Network first; a good answer refreshes the copy kept for offline use.
async function networkFirst(request, key) {
  const cache = await caches.open(PAGE_CACHE);
  try {
    const response = await fetch(request);
    if (response.ok && !response.redirected) {
      await cache.put(key, response.clone());
    }
    return response;
  } catch (error) {
    const kept = await cache.match(key);
    if (kept) {
      return kept;
    }
    throw error;
  }
}

// The kept copy at once (fast on a weak network), and a fresh one fetched for next time, so an
// update of the app reaches the tablet by the following page.
async function keptThenRefreshed(event) {
  const cache = await caches.open(STATIC_CACHE);
  const kept = await cache.match(event.request, { ignoreSearch: true });
  const fresh = fetch(event.request).then(async (response) => {
    if (response.ok) {
      await cache.put(event.request, response.clone());
    }
    return response;
  });
  if (kept) {
    event.waitUntil(fresh.catch(() => undefined));
    return kept;
  }
  return fresh;
}

async function navigate(request) {
  try {
    return await fetch(request);
  } catch (error) {
    // Without network, any page opens the visit form, the one thing an officer can do offline.
    const kept = await caches.open(PAGE_CACHE).then((cache) => cache.match(FORM_URL));
    if (kept) {
      return kept;
    }
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) {
    return;
  }
  if (url.pathname === FORM_URL && request.mode === "navigate") {
    event.respondWith(networkFirst(request, FORM_URL));
  } else if (url.pathname === ENTERPRISES_URL && !url.searchParams.has("q")) {
    event.respondWith(networkFirst(request, ENTERPRISES_URL));
  } else if (url.pathname.startsWith("/static/")) {
    event.respondWith(keptThenRefreshed(event));
  } else if (request.mode === "navigate") {
    event.respondWith(navigate(request));
  }
});
