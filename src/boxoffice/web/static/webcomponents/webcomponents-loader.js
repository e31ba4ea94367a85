/* boxoffice webcomponents-loader.js: a stand-in for the polyfill loader venues include.
 * Every browser boxoffice supports has custom elements natively, so it loads nothing: it marks
 * window.WebComponents ready and fires 'WebComponentsReady', which older component loaders
 * wait for. */
(function () {
  'use strict';
  var wc = (window.WebComponents = window.WebComponents || {});
  if (wc.ready) return;
  wc.ready = true;
  wc.waitFor =
    wc.waitFor ||
    function (callback) {
      return Promise.resolve().then(callback);
    };
  function fire() {
    document.dispatchEvent(new CustomEvent('WebComponentsReady', { bubbles: true }));
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', fire);
  else setTimeout(fire, 0);
})();
