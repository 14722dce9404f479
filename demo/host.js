/* global document, window, fetch, DOMParser, PaythroughBridge */
// The demo superapp host: the container of the mini program in the phone. The mini program asks for
// wx.requestPayment by postMessage (its JS bridge); the host answers through Paythrough's host bridge
// (verify the paySign, open the channel's cashier) or, with "pay inside the host app", through the
// host API (queryPreOrder, its own wallet sheet, payOrder).
(function () {
  'use strict';
  var frame = document.getElementById('mini-program');
  var logElement = document.getElementById('log');
  var lines = [];

  function log(text) {
    lines.unshift(new Date().toLocaleTimeString() + '  ' + text);
    logElement.textContent = lines.slice(0, 30).join('\n');
  }

  function payMode() {
    var checked = document.querySelector('input[name="pay-mode"]:checked');
    return checked ? checked.value : 'bridge';
  }

  // The appId of the mini program this container runs (a real container knows it from the package).
  function currentAppId() {
    return fetch('/demo/merchant/api/shop', { headers: { accept: 'application/json' } })
      .then(function (response) {
        return response.json();
      })
      .then(function (shop) {
        if (!shop.mnpId) throw new Error('the demo shop has no mini program configured');
        return shop.mnpId;
      });
  }

  function xmlField(document_, name) {
    var element = document_.getElementsByTagName(name)[0];
    return element ? element.textContent : '';
  }

  function hostApi(path, fields) {
    return fetch('/superapp/pay/' + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/xml' },
      body: JSON.stringify(fields),
    }).then(function (response) {
      if (!response.ok) throw new Error('host API answered HTTP ' + response.status);
      return response.text().then(function (text) {
        var parsed = new DOMParser().parseFromString(text, 'application/xml');
        return {
          returnCode: xmlField(parsed, 'return_code'),
          returnMsg: xmlField(parsed, 'return_msg'),
          field: function (name) {
            return xmlField(parsed, name);
          },
        };
      });
    });
  }

  function randomText(length) {
    var alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    var values = new Uint32Array(length);
    window.crypto.getRandomValues(values);
    return Array.prototype.map
      .call(values, function (value) {
        return alphabet[value % alphabet.length];
      })
      .join('');
  }

  // The host's own wallet sheet, shown over the phone screen.
  function walletSheet(summary) {
    return new Promise(function (resolve) {
      var overlay = document.createElement('div');
      overlay.setAttribute('style', 'position:absolute;inset:0;background:rgba(0,0,0,.45);display:flex;align-items:flex-end;z-index:10');
      overlay.innerHTML =
        '<div role="dialog" aria-label="Superapp wallet" ' +
        'style="background:#fff;width:100%;padding:20px;border-radius:14px 14px 0 0;box-sizing:border-box">' +
        '<p class="muted" style="margin:0">Demo Superapp wallet · sandbox</p><h2 style="margin:8px 0" data-field="body"></h2>' +
        '<p style="font-size:26px;margin:8px 0" data-field="amount"></p>' +
        '<p style="display:flex;gap:8px"><button type="button" class="primary" data-action="pay">Pay with wallet</button>' +
        '<button type="button" data-action="cancel">Cancel</button></p></div>';
      overlay.querySelector('[data-field="body"]').textContent = summary.body;
      overlay.querySelector('[data-field="amount"]').textContent = (Number(summary.totalFee) / 100).toFixed(2) + ' ' + summary.feeType;
      overlay.addEventListener('click', function (event) {
        var action = event.target && event.target.getAttribute && event.target.getAttribute('data-action');
        if (!action) return;
        overlay.remove();
        resolve(action);
      });
      document.getElementById('screen').appendChild(overlay);
    });
  }

  function payInsideHost(appId, params) {
    var prepayId = String(params.package || '').replace(/^prepay_id=/, '');
    // The paySign is still checked first: expired or tampered parameters never reach the wallet.
    return fetch('/bridge/v1/verify-payment', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        appId: appId,
        timeStamp: params.timeStamp,
        nonceStr: params.nonceStr,
        package: params.package,
        signType: params.signType,
        paySign: params.paySign,
      }),
    })
      .then(function (response) {
        return response.json();
      })
      .then(function (verified) {
        if (verified.result !== 'ok') return { errMsg: 'requestPayment:fail ' + verified.reason };
        return hostApi('queryPreOrder', { appid: appId, nonce_str: randomText(32), prepay_id: prepayId }).then(function (order) {
          log('host API queryPreOrder → ' + order.returnCode + (order.returnMsg ? ' (' + order.returnMsg + ')' : ''));
          if (order.returnCode !== 'SUCCESS') return { errMsg: 'requestPayment:fail ' + (order.returnMsg || 'the order cannot be paid') };
          var summary = {
            outTradeNo: order.field('out_trade_no'),
            totalFee: order.field('total_fee'),
            feeType: order.field('fee_type') || 'CNY',
            body: order.field('body'),
          };
          return walletSheet(summary).then(function (action) {
            if (action !== 'pay') return { errMsg: 'requestPayment:fail cancel' };
            return hostApi('payOrder', {
              prepay_id: prepayId,
              out_trade_no: summary.outTradeNo,
              total_fee: summary.totalFee,
              transaction_id: 'wallet' + Date.now() + randomText(6),
              result_code: 'SUCCESS',
            }).then(function (report) {
              log('host API payOrder → ' + report.returnCode + (report.returnMsg ? ' (' + report.returnMsg + ')' : ''));
              return report.returnCode === 'SUCCESS'
                ? { errMsg: 'requestPayment:ok' }
                : { errMsg: 'requestPayment:fail ' + (report.returnMsg || 'payOrder failed') };
            });
          });
        });
      });
  }

  function payWithBridge(appId, params) {
    // The cashier opens over the phone's screen, as a superapp's payment sheet would.
    var cashier = PaythroughBridge.overlayCashier({ container: document.getElementById('screen') });
    var bridge = PaythroughBridge.createPaymentBridge({ appId: appId, baseUrl: window.location.origin, cashier: cashier });
    return bridge.requestPayment(params).catch(function (error) {
      return { errMsg: error && error.errMsg ? error.errMsg : 'requestPayment:fail ' + String(error) };
    });
  }

  function reply(id, result) {
    frame.contentWindow.postMessage({ type: 'paythrough-demo:requestPaymentResult', id: id, result: result }, window.location.origin);
  }

  // wx.requestMidasPaymentGameItem for the mini game: the bridge checks the signature with the player's session key
  // (a sandbox host may verify from the page) and opens the cashier.
  function payGameItem(params) {
    return fetch('/demo/game/api/session', { headers: { accept: 'application/json' } })
      .then(function (response) {
        return response.json().then(function (session) {
          if (!response.ok) throw new Error(session.message || 'HTTP ' + response.status);
          return session;
        });
      })
      .then(function (session) {
        var cashier = PaythroughBridge.overlayCashier({ container: document.getElementById('screen') });
        var bridge = PaythroughBridge.createPaymentBridge({
          appId: session.mnpId,
          baseUrl: window.location.origin,
          cashier: cashier,
          user: function () {
            return { openid: session.openid, sessionKey: session.sessionKey };
          },
        });
        return bridge.requestMidasPaymentGameItem(params);
      })
      .catch(function (error) {
        if (error && error.errMsg) return { errMsg: error.errMsg, errCode: error.errCode };
        return { errMsg: 'requestMidasPaymentGameItem:fail ' + (error && error.message ? error.message : String(error)), errCode: -1 };
      });
  }

  window.addEventListener('message', function (event) {
    // Only the mini program this host runs, on this origin, may ask.
    if (event.origin !== window.location.origin || event.source !== frame.contentWindow) return;
    var data = event.data;
    if (data && data.type === 'paythrough-demo:requestMidasPaymentGameItem') {
      log('requestMidasPaymentGameItem via the bridge');
      payGameItem(data.params || {}).then(function (result) {
        log('→ ' + result.errMsg + (result.errCode ? ' (' + result.errCode + ')' : ''));
        reply(data.id, result);
      });
      return;
    }
    if (!data || data.type !== 'paythrough-demo:requestPayment') return;
    var params = data.params || {};
    var mode = payMode();
    log('requestPayment(' + params.package + ') via ' + (mode === 'host' ? 'the host API' : 'the bridge'));
    currentAppId()
      .then(function (appId) {
        return mode === 'host' ? payInsideHost(appId, params) : payWithBridge(appId, params);
      })
      .catch(function (error) {
        return { errMsg: 'requestPayment:fail ' + error.message };
      })
      .then(function (result) {
        log('→ ' + result.errMsg);
        reply(data.id, result);
      });
  });

  // The host runs one mini program at a time: the shop or the game.
  Array.prototype.forEach.call(document.querySelectorAll('input[name="mini-program"]'), function (input) {
    input.addEventListener('change', function () {
      if (input.checked) frame.src = input.value;
    });
  });

  // Offer "pay inside the host app" only where this server has the host API (SPEC §4.5).
  fetch('/superapp/pay/queryPreOrder', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    .then(function (response) {
      if (response.status === 404) document.getElementById('host-pay-option').hidden = true;
    })
    .catch(function () {
      document.getElementById('host-pay-option').hidden = true;
    });
})();
