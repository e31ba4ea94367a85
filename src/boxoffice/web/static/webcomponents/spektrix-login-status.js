/* boxoffice <spektrix-login-status>: shows who is logged in on the venue's web-mode session.
 *
 *   <spektrix-login-status client-name="thetheatre" custom-domain="tickets.thetheatre.org">
 *     <span data-logged-in-container style="display: none;">
 *       <span data-logged-in-status-customer-first-name></span>
 *       <span data-logged-in-status-customer-last-name></span>
 *       (<span data-logged-in-status-customer-email-address></span>)
 *     </span>
 *     <span data-logged-out-container>My account</span>
 *   </spektrix-login-status>
 *
 * Calls GET https://{custom-domain}/{client-name}/api/v3/customer with credentials: 200 is
 * logged in, 401 logged out. It checks again when an iframe page of the same host reports
 * its customer ('basketContents:' message), on the 'spektrix-login-status:refresh' event on
 * document (for the venue's own API calls), and when the page becomes visible or focused
 * again. The host element gets a 'logged-in' attribute while a customer is logged in and fires
 * 'spektrix-login-status:change' (bubbles; detail {loggedIn, customer}) when that changes.
 * custom-domain is a host name; without it, the host that served this script. See
 * docs/web-pages.md.
 */
(function () {
  'use strict';
  var TAG = 'spektrix-login-status';
  if (!window.customElements || customElements.get(TAG)) return;
  var script = document.currentScript;
  var scriptUrl = script && script.src ? new URL(script.src, location.href) : null;

  function target(element) {
    var client = (element.getAttribute('client-name') || '').trim();
    var domain = (element.getAttribute('custom-domain') || '').trim().replace(/\/+$/, '');
    var origin;
    if (!domain) {
      origin = scriptUrl ? scriptUrl.origin : location.origin;
    } else if (/^https?:\/\//i.test(domain)) {
      origin = new URL(domain).origin;
    } else if (scriptUrl && scriptUrl.host.toLowerCase() === domain.toLowerCase()) {
      origin = scriptUrl.origin;
    } else {
      origin = 'https://' + domain;
    }
    return { client: client, origin: origin, api: origin + '/' + encodeURIComponent(client) + '/api/v3/' };
  }

  function each(root, selector, callback) {
    var found = root.querySelectorAll(selector);
    for (var i = 0; i < found.length; i++) callback(found[i]);
  }

  class SpektrixLoginStatus extends HTMLElement {
    static get observedAttributes() {
      return ['client-name', 'custom-domain'];
    }

    constructor() {
      super();
      this.customer = null;
      this.loggedIn = null;
      this._sequence = 0;
      this._onMessage = this._message.bind(this);
      this._onRefresh = this.refresh.bind(this);
      this._onVisible = this._visible.bind(this);
    }

    get clientName() {
      return this.getAttribute('client-name');
    }
    set clientName(value) {
      this.setAttribute('client-name', value);
    }
    get customDomain() {
      return this.getAttribute('custom-domain');
    }
    set customDomain(value) {
      this.setAttribute('custom-domain', value);
    }

    connectedCallback() {
      window.addEventListener('message', this._onMessage);
      document.addEventListener('spektrix-login-status:refresh', this._onRefresh);
      document.addEventListener('visibilitychange', this._onVisible);
      window.addEventListener('focus', this._onVisible);
      window.addEventListener('pageshow', this._onVisible);
      this.refresh();
    }

    disconnectedCallback() {
      window.removeEventListener('message', this._onMessage);
      document.removeEventListener('spektrix-login-status:refresh', this._onRefresh);
      document.removeEventListener('visibilitychange', this._onVisible);
      window.removeEventListener('focus', this._onVisible);
      window.removeEventListener('pageshow', this._onVisible);
    }

    attributeChangedCallback(name, before, after) {
      if (before !== after && this.isConnected) this.refresh();
    }

    _visible() {
      if (document.visibilityState !== 'hidden') this.refresh();
    }

    _message(event) {
      var where = target(this);
      if (event.origin !== where.origin || typeof event.data !== 'string') return;
      if (event.data.indexOf('basketContents:') !== 0) return;
      var contents;
      try {
        contents = JSON.parse(event.data.slice('basketContents:'.length));
      } catch (e) {
        return;
      }
      this._sequence++;
      this._show(contents ? contents.customer : null);
    }

    refresh() {
      var where = target(this);
      if (!where.client) return Promise.resolve();
      var sequence = ++this._sequence;
      var self = this;
      return fetch(where.api + 'customer', {
        credentials: 'include',
        cache: 'no-store',
        headers: { Accept: 'application/json' }
      })
        .then(function (response) {
          if (response.status === 200) return response.json();
          if (response.status === 401 || response.status === 403 || response.status === 404) {
            return null;
          }
          throw new Error('HTTP ' + response.status);
        })
        .then(function (customer) {
          if (sequence === self._sequence) self._show(customer);
        })
        .catch(function () {
          /* offline or the server is down: keep what is shown */
        });
    }

    _show(customer) {
      var loggedIn = !!customer;
      each(this, '[data-logged-in-container]', function (el) {
        el.style.display = loggedIn ? '' : 'none';
      });
      each(this, '[data-logged-out-container]', function (el) {
        el.style.display = loggedIn ? 'none' : '';
      });
      var fields = {
        'data-logged-in-status-customer-first-name': 'firstName',
        'data-logged-in-status-customer-last-name': 'lastName',
        'data-logged-in-status-customer-email-address': 'email'
      };
      var self = this;
      Object.keys(fields).forEach(function (hook) {
        each(self, '[' + hook + ']', function (el) {
          el.textContent = loggedIn && customer[fields[hook]] ? customer[fields[hook]] : '';
        });
      });
      this.toggleAttribute('logged-in', loggedIn);
      var changed = this.loggedIn !== loggedIn || JSON.stringify(this.customer) !== JSON.stringify(customer);
      this.customer = customer || null;
      this.loggedIn = loggedIn;
      if (changed) {
        this.dispatchEvent(
          new CustomEvent('spektrix-login-status:change', {
            bubbles: true,
            detail: { loggedIn: loggedIn, customer: this.customer }
          })
        );
      }
    }
  }

  customElements.define(TAG, SpektrixLoginStatus);
})();
