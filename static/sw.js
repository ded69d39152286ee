// The service worker of the tablet app: the visit form, its scripts and the officer's
// enterprise list stay available without network. Visits themselves are queued by the page
// (static/js/visit-form.js) in IndexedDB, never here.
"use strict";

const VERSION = "crm-2026-11-23";
const STATIC_CACHE = `${VERSION}-static`;
const PAGE_CACHE = "crm-pages";
const FORM_URL = "/visits/new";
const ENTERPRISES_URL = "/visits/enterprises.json";
const SHELL = [
  "/static/vendor/bootstrap/bootstrap.min.css",
  "/static/vendor/bootstrap/bootstrap.bundle.min.js",
  "/static/vendor/bootstrap-icons/bootstrap-icons.min.css",
  "/static/vendor/bootstrap-icons/fonts/bootstrap-icons.woff",
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

async function cacheFirst(request) {
  const kept = await caches.match(request, { ignoreSearch: true });
  return kept || fetch(request);
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
    event.respondWith(cacheFirst(request));
  } else if (request.mode === "navigate") {
    event.respondWith(navigate(request));
  }
});
