// pando-mirrors.js: client-side mirror selection for a download page.
//
// It fetches the mirrors.json the pando hub serves (the Tails format:
// {"mirrors": [{"url_prefix": "https://mirror.example/files/", "weight": 10}]}),
// picks one usable mirror by weighted random choice, and points every
// <a data-pando-path="relative/path"> at url_prefix + path. Elements with a
// data-pando-mirror-name attribute get the chosen mirror's host as text.
//
// If anything fails, the links keep their hrefs, which point at the hub; the
// hub then picks a mirror itself. <html data-pando-state> says what happened:
// "pending", then "rewritten" or "fallback".
//
// Attributes on the <script> tag:
//   data-pando-mirrors="/mirrors.json"  where to fetch the mirror list
//   data-pando-manual                   don't run on load; call
//                                       PandoMirrors.rewrite() instead
//   data-pando-seed="12345"             for tests only: a fixed random choice
//
// See docs/CLIENT-SIDE.md. Plain ES2017, no dependencies, no build step.
(function () {
  "use strict";

  const DEFAULT_MIRRORS_JSON = "/mirrors.json";
  const TIMEOUT_MS = 3000;
  const MAX_JSON_CHARS = 4 << 20; // as pando's own mirrors.json parser
  const MAX_MIRRORS = 10000;
  const DEFAULT_WEIGHT = 100; // an entry without "weight", as in pando
  const MAX_WEIGHT = 1000000;

  const script = document.currentScript;

  function scriptAttr(name) {
    return script ? script.getAttribute(name) : null;
  }

  function setState(state) {
    document.documentElement.setAttribute("data-pando-state", state);
  }

  // fetchJSON fetches and parses url, giving up after timeoutMs.
  async function fetchJSON(url, timeoutMs) {
    const controller = typeof AbortController === "function" ? new AbortController() : null;
    let timer;
    const timeout = new Promise(function (resolve, reject) {
      timer = setTimeout(function () {
        if (controller) controller.abort();
        reject(new Error(url + ": no answer within " + timeoutMs + " ms"));
      }, timeoutMs);
    });
    try {
      return await Promise.race([load(url, controller), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async function load(url, controller) {
    const resp = await fetch(url, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      signal: controller ? controller.signal : undefined,
    });
    if (!resp.ok) throw new Error(url + ": HTTP status " + resp.status);
    const text = await resp.text();
    if (text.length > MAX_JSON_CHARS) throw new Error(url + ": larger than " + MAX_JSON_CHARS + " characters");
    return JSON.parse(text);
  }

  // usableMirrors returns the entries of a parsed mirrors.json that may be
  // used, each as {prefix, host, weight}.
  function usableMirrors(data) {
    if (!data || !Array.isArray(data.mirrors)) return [];
    return data.mirrors.slice(0, MAX_MIRRORS).map(parseMirror).filter(Boolean);
  }

  // parseMirror returns one entry as {prefix, host, weight}, or null unless
  // url_prefix is an http(s) URL without credentials, query or fragment (and
  // https if the page is) and weight an integer from 1 to MAX_WEIGHT.
  function parseMirror(entry) {
    if (!entry || typeof entry.url_prefix !== "string") return null;
    const weight = entry.weight === undefined ? DEFAULT_WEIGHT : entry.weight;
    if (!Number.isInteger(weight) || weight <= 0 || weight > MAX_WEIGHT) return null;
    let url;
    try {
      url = new URL(entry.url_prefix);
    } catch (e) {
      return null;
    }
    if (!allowedScheme(url.protocol)) return null;
    if (url.username || url.password || url.search || url.hash) return null;
    if (/[?#]/.test(url.href)) return null; // an empty query or fragment
    let prefix = url.origin + url.pathname;
    if (!prefix.endsWith("/")) prefix += "/";
    return { prefix: prefix, host: url.host, weight: weight };
  }

  // allowedScheme reports whether a mirror may use protocol: http or https,
  // and never weaker than the page's own.
  function allowedScheme(protocol) {
    if (protocol === "https:") return true;
    return protocol === "http:" && window.location.protocol !== "https:";
  }

  // pick returns the mirror that r, a number in [0, 1), selects when each
  // mirror owns a share of [0, 1) proportional to its weight, in list order.
  function pick(mirrors, r) {
    const total = mirrors.reduce(function (sum, m) { return sum + m.weight; }, 0);
    let point = r * total;
    for (const m of mirrors) {
      if (point < m.weight) return m;
      point -= m.weight;
    }
    return mirrors[mirrors.length - 1]; // only reached through rounding
  }

  // randomFraction returns a number in [0, 1): from the seed if there is
  // one, else from crypto.getRandomValues where the browser has it.
  function randomFraction(seed) {
    if (seed !== null) return mulberry32(seed);
    if (window.crypto && typeof window.crypto.getRandomValues === "function") {
      return window.crypto.getRandomValues(new Uint32Array(1))[0] / 4294967296;
    }
    return Math.random();
  }

  // mulberry32 returns the first output of the Mulberry32 generator seeded
  // with seed, so that tests can predict a seeded choice.
  function mulberry32(seed) {
    const a = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t = (t + Math.imul(t ^ (t >>> 7), t | 61)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  // parseSeed returns the seed in s (a decimal uint32), or null.
  function parseSeed(s) {
    if (typeof s === "number") s = String(s);
    if (typeof s !== "string" || !/^[0-9]{1,10}$/.test(s)) return null;
    const n = Number(s);
    return n <= 0xffffffff ? n : null;
  }

  // mirrorURL returns prefix followed by path, each segment escaped, or null
  // if path has an empty, "." or ".." segment (so it is relative and stays
  // below prefix).
  function mirrorURL(prefix, path) {
    const segments = path.split("/");
    if (segments.some(function (s) { return s === "" || s === "." || s === ".."; })) return null;
    try {
      return prefix + segments.map(encodeURIComponent).join("/");
    } catch (e) {
      return null; // a lone surrogate
    }
  }

  // rewriteLinks points the marked links at mirror and names it.
  function rewriteLinks(mirror) {
    document.querySelectorAll("a[data-pando-path]").forEach(function (link) {
      const path = link.getAttribute("data-pando-path");
      const url = mirrorURL(mirror.prefix, path);
      if (url === null) {
        console.warn("pando-mirrors: not a relative path, link kept:", path);
        return;
      }
      link.setAttribute("href", url);
    });
    document.querySelectorAll("[data-pando-mirror-name]").forEach(function (el) {
      el.textContent = mirror.host;
    });
  }

  // rewrite fetches the mirror list, picks a mirror and rewrites the links.
  // It resolves to the final state, "rewritten" or "fallback", and never
  // rejects. options: mirrorsJSON (URL), timeoutMs, seed (tests only).
  async function rewrite(options) {
    const opts = options || {};
    const url = opts.mirrorsJSON || scriptAttr("data-pando-mirrors") || DEFAULT_MIRRORS_JSON;
    const timeoutMs = opts.timeoutMs > 0 ? opts.timeoutMs : TIMEOUT_MS;
    const seed = parseSeed(opts.seed !== undefined ? opts.seed : scriptAttr("data-pando-seed"));
    let state = "rewritten";
    setState("pending");
    try {
      const mirrors = usableMirrors(await fetchJSON(url, timeoutMs));
      if (mirrors.length === 0) throw new Error(url + ": no usable mirror");
      rewriteLinks(pick(mirrors, randomFraction(seed)));
    } catch (err) {
      console.warn("pando-mirrors: links kept:", err && err.message);
      state = "fallback";
    }
    setState(state);
    return state;
  }

  window.PandoMirrors = Object.freeze({ rewrite: rewrite });

  if (script && !script.hasAttribute("data-pando-manual")) {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", function () { rewrite(); }, { once: true });
    } else {
      rewrite();
    }
  }
})();
