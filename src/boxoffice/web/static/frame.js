/* boxoffice hosted pages (inside the venue's iframe): tell the embedding page about this page.
 *
 * On every load it posts the vendor's two strings, "basketContents:{json}" and
 * "basketHash:<hash>", and, when the page was opened with resize=true, our resize message
 * '{"type":"boxoffice:resize","height":<px>}' whenever the content height changes.
 * Messages go only to the parent's exact origin, and only when that origin is one of the
 * tenant's origins (or this instance): the page lists them in data-parent-origins.
 * See docs/web-pages.md.
 */
(function () {
  'use strict';
  var body = document.body;
  if (!body || window.parent === window) return;
  var allowed = [];
  try {
    allowed = JSON.parse(body.getAttribute('data-parent-origins') || '[]');
  } catch (e) {
    return;
  }
  function parentOrigin() {
    var origin = null;
    if (location.ancestorOrigins && location.ancestorOrigins.length) {
      origin = location.ancestorOrigins[0];
    } else if (document.referrer) {
      try {
        origin = new URL(document.referrer).origin;
      } catch (e) {
        origin = null;
      }
    }
    return origin && allowed.indexOf(origin.toLowerCase()) >= 0 ? origin : null;
  }
  var target = parentOrigin();
  if (!target) return;
  function post(message) {
    window.parent.postMessage(message, target);
  }

  var basket = body.getAttribute('data-basket');
  if (basket) {
    var hash = 'NotLoggedIn';
    try {
      hash = JSON.parse(basket).hash;
    } catch (e) {
      hash = 'NotLoggedIn';
    }
    post('basketContents:' + basket);
    post('basketHash:' + hash);
  }

  if (body.getAttribute('data-resize') !== 'true') return;
  var last = 0;
  function measure() {
    var root = document.documentElement;
    var height = Math.ceil(
      Math.max(root.getBoundingClientRect().height, body.getBoundingClientRect().height)
    );
    if (height > 0 && height !== last) {
      last = height;
      post(JSON.stringify({ type: 'boxoffice:resize', height: height }));
    }
  }
  measure();
  window.addEventListener('load', measure);
  window.addEventListener('resize', measure);
  if (window.ResizeObserver) {
    new ResizeObserver(measure).observe(document.documentElement);
  }
})();
