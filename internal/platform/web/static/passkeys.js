// Passkeys: the WebAuthn ceremonies of the passkeys page (add a passkey)
// and the sign-in page (the button, and conditional UI in the email
// field's autofill). No dependencies, no inline script (the CSP allows
// scripts from 'self' only). The server sends options with binary fields
// as base64url text; this file turns them into ArrayBuffers for the
// browser and the browser's answer back into base64url JSON.
(function () {
  "use strict";

  function toBase64url(buf) {
    var bytes = new Uint8Array(buf), s = "";
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function fromBase64url(text) {
    var s = text.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function withIDs(list) {
    return (list || []).map(function (c) {
      var copy = Object.assign({}, c);
      copy.id = fromBase64url(c.id);
      return copy;
    });
  }

  // creationOptions and requestOptions decode the server's options.
  function creationOptions(o) {
    var pk = Object.assign({}, o.publicKey);
    pk.challenge = fromBase64url(pk.challenge);
    pk.user = Object.assign({}, pk.user, { id: fromBase64url(pk.user.id) });
    pk.excludeCredentials = withIDs(pk.excludeCredentials);
    return pk;
  }

  function requestOptions(o) {
    var pk = Object.assign({}, o.publicKey);
    pk.challenge = fromBase64url(pk.challenge);
    if (pk.allowCredentials) pk.allowCredentials = withIDs(pk.allowCredentials);
    return pk;
  }

  // credentialJSON encodes the browser's answer for the server.
  function credentialJSON(cred) {
    var r = cred.response;
    var out = {
      id: cred.id,
      rawId: toBase64url(cred.rawId),
      type: cred.type,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: toBase64url(r.clientDataJSON) }
    };
    if (cred.authenticatorAttachment) out.authenticatorAttachment = cred.authenticatorAttachment;
    if (r.attestationObject) {
      out.response.attestationObject = toBase64url(r.attestationObject);
      if (r.getTransports) out.response.transports = r.getTransports();
    }
    if (r.authenticatorData) {
      out.response.authenticatorData = toBase64url(r.authenticatorData);
      out.response.signature = toBase64url(r.signature);
      if (r.userHandle) out.response.userHandle = toBase64url(r.userHandle);
    }
    return out;
  }

  // post sends JSON to the same origin; a refusal rejects with the
  // server's message, which a person can act on.
  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body || {})
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (!res.ok) {
          var err = new Error(data.error || "Something went wrong. Try again.");
          err.status = res.status;
          throw err;
        }
        return data;
      });
    });
  }

  // explain turns a browser's refusal into words.
  function explain(err) {
    switch (err && err.name) {
      case "NotAllowedError":
        return "The passkey request was cancelled or timed out. Try again when you are ready.";
      case "InvalidStateError":
        return "This device already holds a passkey for your account.";
      case "SecurityError":
        return "This browser refused passkeys for this address. Open the site by its host name over https (or http://localhost in development).";
      case "NotSupportedError":
        return "This device cannot create a passkey of the kind this site needs (one that verifies you with a fingerprint, face or PIN).";
    }
    return (err && err.message) || "Something went wrong. Try again.";
  }

  var supported = !!(window.PublicKeyCredential && navigator.credentials && navigator.credentials.create && window.fetch);

  function showError(box, msg) {
    var el = box.querySelector("[data-passkey-error]");
    if (!el) return;
    el.textContent = msg;
    el.hidden = !msg;
  }

  function unsupported(box) {
    var el = box.querySelector("[data-passkey-unsupported]");
    if (el) el.hidden = false;
  }

  // The passkeys page: "Add a passkey".
  function setUpRegistration(form) {
    var box = form.parentNode;
    var button = form.querySelector("button[type=submit]");
    if (!supported) {
      unsupported(box);
      return;
    }
    button.disabled = false;
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      showError(box, "");
      button.disabled = true;
      var name = form.querySelector("input[name=name]");
      var password = form.querySelector("input[name=password]");
      post("/account/passkeys/register/begin", { password: password ? password.value : "" }).then(function (opts) {
        if (password) password.value = "";
        return navigator.credentials.create({ publicKey: creationOptions(opts) });
      }).then(function (cred) {
        return post("/account/passkeys/register/finish", { credential: credentialJSON(cred), name: name ? name.value : "" });
      }).then(function (data) {
        window.location.assign(data.redirect);
      }).catch(function (err) {
        showError(box, explain(err));
        button.disabled = false;
      });
    });
  }

  // The sign-in page: the button, and conditional UI where the browser
  // offers passkeys in the email field's autofill.
  function setUpSignIn(box) {
    var button = box.querySelector("[data-testid=passkey-sign-in]");
    if (!supported) {
      unsupported(box);
      return;
    }
    button.hidden = false;
    var waiting = null; // the conditional request: {abort, begun}

    function signIn(mediation, signal) {
      return post("/account/passkeys/login/begin").then(function (opts) {
        var req = { publicKey: requestOptions(opts), signal: signal };
        if (mediation) req.mediation = mediation;
        return navigator.credentials.get(req);
      }).then(function (cred) {
        var remember = document.querySelector("input[name=remember_me]");
        return post("/account/passkeys/login/finish", {
          credential: credentialJSON(cred),
          remember: !!(remember && remember.checked),
          return_url: box.getAttribute("data-return-url") || ""
        });
      }).then(function (data) {
        window.location.assign(data.redirect);
      });
    }

    button.addEventListener("click", function () {
      showError(box, "");
      button.disabled = true;
      // One ceremony at a time: the autofill request ends before the
      // button's begins, so the browser's cookie names the right one.
      var before = Promise.resolve();
      if (waiting) {
        waiting.controller.abort();
        before = waiting.done.catch(function () {});
        waiting = null;
      }
      before.then(function () {
        return signIn("", undefined);
      }).catch(function (err) {
        showError(box, explain(err));
        button.disabled = false;
      });
    });

    if (PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
        if (!ok || button.disabled) return;
        var controller = new AbortController();
        var done = signIn("conditional", controller.signal);
        waiting = { controller: controller, done: done };
        done.catch(function (err) {
          if (err && err.name === "AbortError") return;
          if (err && err.status === 503) {
            box.hidden = true; // the server offers no passkeys
            return;
          }
          if (waiting && waiting.done === done) showError(box, explain(err));
        });
      }).catch(function () {});
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-passkey-register]");
    if (form) setUpRegistration(form);
    var box = document.querySelector("[data-passkey-sign-in]");
    if (box) setUpSignIn(box);
  });
})();
