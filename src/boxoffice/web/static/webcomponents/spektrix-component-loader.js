/* boxoffice spektrix-component-loader.js: loads the custom elements a page uses.
 *
 *   <script src="https://tickets.example.org/webcomponents/stable/spektrix-component-loader.js"
 *     data-components="spektrix-login-status" async></script>
 *
 * With data-components (a comma-separated list of tags) it loads those; without, it finds
 * every spektrix-* tag on the page, now and as the page adds more. Each tag maps to a script in
 * this directory through COMPONENTS (the registry): a component that is not built yet is
 * listed with null and only warns. window.SpektrixComponents.define(tag, url) adds or
 * overrides an entry before the tag is seen. See docs/web-pages.md.
 */
(function () {
  'use strict';
  if (window.SpektrixComponents && window.SpektrixComponents.started) return;
  var COMPONENTS = {
    'spektrix-login-status': 'spektrix-login-status.js',
    // Come with the basket work:
    'spektrix-basket-summary': null,
    'spektrix-donate': null,
    'spektrix-memberships': null,
    'spektrix-merchandise': null,
    'spektrix-gift-vouchers': null
  };
  var script =
    document.currentScript || document.querySelector('script[src*="spektrix-component-loader.js"]');
  var base = script ? new URL('.', new URL(script.src, location.href)).href : location.href;
  var requested = {};
  var api = window.SpektrixComponents || {};
  var extra = api.registry || {};
  Object.keys(extra).forEach(function (tag) {
    COMPONENTS[tag] = extra[tag];
  });

  function load(tag) {
    tag = String(tag || '').trim().toLowerCase();
    if (!tag || requested[tag]) return;
    requested[tag] = true;
    if (window.customElements && customElements.get(tag)) return;
    var file = COMPONENTS[tag];
    if (!file) {
      if (window.console) console.warn('boxoffice: <' + tag + '> is not available yet');
      return;
    }
    var element = document.createElement('script');
    element.src = new URL(file, base).href;
    element.async = true;
    (document.head || document.documentElement).appendChild(element);
  }

  function scan(root) {
    if (!root || !root.querySelectorAll) return;
    if (root.tagName && root.tagName.indexOf('SPEKTRIX-') === 0) load(root.tagName);
    var all = root.querySelectorAll('*');
    for (var i = 0; i < all.length; i++) {
      if (all[i].tagName.indexOf('SPEKTRIX-') === 0) load(all[i].tagName);
    }
  }

  function start() {
    var listed = script && script.getAttribute('data-components');
    if (listed) {
      listed.split(',').forEach(load);
      return;
    }
    scan(document.documentElement);
    new MutationObserver(function (records) {
      records.forEach(function (record) {
        record.addedNodes.forEach(scan);
      });
    }).observe(document.documentElement, { childList: true, subtree: true });
  }

  window.SpektrixComponents = {
    started: true,
    registry: COMPONENTS,
    base: base,
    load: load,
    define: function (tag, url) {
      COMPONENTS[String(tag).toLowerCase()] = url;
    }
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
