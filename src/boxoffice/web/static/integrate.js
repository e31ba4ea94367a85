/* boxoffice integrate.js (also served as resizeiframe.js), for the venue's page.
 *
 *   <script src="https://tickets.example.org/{client}/website/scripts/integrate.js"></script>
 *   <iframe name="SpektrixIFrame" id="SpektrixIFrame" frameborder="0"
 *     src="https://tickets.example.org/{client}/website/secure/LoginLogout.aspx?resize=true"
 *     style="width: 100%; height: 1000px;"></iframe>
 *
 * Accepts messages only from the origin this script was loaded from (the boxoffice host):
 * - '{"type":"boxoffice:resize","height":<px>}' sets the sending iframe's height (the venue's
 *   inline height holds until the first message);
 * - 'basketContents:{json}' and 'basketHash:<hash>' (which the venue may also listen to
 *   itself) are relayed as DOM events on document: 'spektrix:basketcontents' (detail: the
 *   parsed contents), 'spektrix:baskethash' (detail: {hash}), and
 *   'spektrix-login-status:refresh' (detail: {customer}), which <spektrix-login-status>
 *   listens to. See docs/web-pages.md.
 */
(function () {
  'use strict';
  if (window.BoxofficeIntegrate) return;
  var script =
    document.currentScript ||
    document.querySelector(
      'script[src*="/website/scripts/integrate.js"],script[src*="/website/scripts/resizeiframe.js"]'
    );
  if (!script) return;
  var origin;
  try {
    origin = new URL(script.src, location.href).origin;
  } catch (e) {
    return;
  }

  function dispatch(name, detail) {
    document.dispatchEvent(new CustomEvent(name, { detail: detail }));
  }

  function frameFor(source) {
    var frames = document.getElementsByTagName('iframe');
    for (var i = 0; i < frames.length; i++) {
      if (frames[i].contentWindow === source) return frames[i];
    }
    return null;
  }

  window.addEventListener('message', function (event) {
    if (event.origin !== origin || typeof event.data !== 'string') return;
    var data = event.data;
    if (data.indexOf('basketContents:') === 0) {
      var contents;
      try {
        contents = JSON.parse(data.slice('basketContents:'.length));
      } catch (e) {
        return;
      }
      dispatch('spektrix:basketcontents', contents);
      dispatch('spektrix-login-status:refresh', { customer: contents ? contents.customer : null });
      return;
    }
    if (data.indexOf('basketHash:') === 0) {
      dispatch('spektrix:baskethash', { hash: data.slice('basketHash:'.length) });
      return;
    }
    if (data.charAt(0) !== '{') return;
    var message;
    try {
      message = JSON.parse(data);
    } catch (e) {
      return;
    }
    if (!message || message.type !== 'boxoffice:resize') return;
    var height = Number(message.height);
    if (!isFinite(height) || height <= 0 || height > 200000) return;
    var frame = frameFor(event.source);
    if (frame) frame.style.height = Math.ceil(height) + 'px';
  });

  window.BoxofficeIntegrate = { origin: origin };
})();
