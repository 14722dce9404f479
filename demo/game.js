/* global document, window, fetch */
// The demo mini game: it sells two items. Its merchant server (/demo/game/api) signs each purchase; the game hands
// the signed order to wx.requestMidasPaymentGameItem, which its container (the superapp host page) provides; the
// item arrives in the inventory when Paythrough's delivery notification reaches the merchant server.
(function () {
  'use strict';
  var pending = {};
  var sequence = 0;
  var itemNames = {};

  // wx.requestMidasPaymentGameItem as a mini game sees it: the container answers through postMessage.
  var wx = {
    requestMidasPaymentGameItem: function (options) {
      sequence += 1;
      var id = 'game-pay-' + sequence;
      return new Promise(function (resolve, reject) {
        pending[id] = function (result) {
          var ok = result.errMsg === 'requestMidasPaymentGameItem:ok';
          if (ok && options.success) options.success(result);
          if (!ok && options.fail) options.fail(result);
          if (options.complete) options.complete(result);
          if (ok) resolve(result);
          else reject(result);
        };
        window.parent.postMessage(
          {
            type: 'paythrough-demo:requestMidasPaymentGameItem',
            id: id,
            params: { signData: options.signData, paySig: options.paySig, signature: options.signature },
          },
          window.location.origin,
        );
      });
    },
  };

  window.addEventListener('message', function (event) {
    if (event.origin !== window.location.origin || event.source !== window.parent) return;
    var data = event.data;
    if (!data || data.type !== 'paythrough-demo:requestPaymentResult' || !pending[data.id]) return;
    var settle = pending[data.id];
    delete pending[data.id];
    settle(data.result);
  });

  function api(method, path, body) {
    return fetch('/demo/game/api' + path, {
      method: method,
      headers: body ? { 'content-type': 'application/json', accept: 'application/json' } : { accept: 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    }).then(function (response) {
      return response.json().then(function (answer) {
        if (!response.ok) throw new Error(answer.message || 'HTTP ' + response.status);
        return answer;
      });
    });
  }

  function money(total, currency) {
    return (total / 100).toFixed(2) + ' ' + (currency || 'CNY');
  }

  function result(text, kind) {
    var element = document.getElementById('result');
    element.textContent = text;
    element.className = 'result' + (kind ? ' ' + kind : '');
  }

  function button(label, onClick, primary) {
    var element = document.createElement('button');
    element.type = 'button';
    element.textContent = label;
    if (primary) element.className = 'primary';
    element.addEventListener('click', onClick);
    return element;
  }

  function showState() {
    return api('GET', '/purchases').then(function (state) {
      var inventory = document.getElementById('inventory');
      inventory.innerHTML = '';
      if (!state.inventory.length) inventory.innerHTML = '<li class="muted">Nothing yet.</li>';
      state.inventory.forEach(function (entry) {
        var line = document.createElement('li');
        line.setAttribute('data-product-id', entry.productId);
        line.textContent = (itemNames[entry.productId] || entry.productId) + ' × ' + entry.quantity + ' (' + entry.outTradeNo + ')';
        inventory.appendChild(line);
      });
      var purchases = document.getElementById('purchases');
      purchases.innerHTML = '';
      state.purchases.forEach(function (purchase) {
        var line = document.createElement('li');
        line.textContent =
          purchase.outTradeNo + ' · ' + (itemNames[purchase.productId] || purchase.productId) + ' × ' + purchase.quantity + ' ';
        if (purchase.refundedAt) {
          var refunded = document.createElement('span');
          refunded.className = 'badge';
          refunded.textContent = 'Refund requested';
          line.appendChild(refunded);
        } else if (
          state.inventory.some(function (entry) {
            return entry.outTradeNo === purchase.outTradeNo;
          })
        ) {
          line.appendChild(
            button('Refund', function () {
              api('POST', '/purchases/' + encodeURIComponent(purchase.outTradeNo) + '/refund')
                .then(function () {
                  result('Refund of ' + purchase.outTradeNo + ' requested through xpay/refund_order.', 'ok');
                  return showState();
                })
                .catch(function (error) {
                  result('Refund failed: ' + error.message, 'error');
                });
            }),
          );
        }
        purchases.appendChild(line);
      });
      return state;
    });
  }

  // The delivery notification arrives a moment after the payment: look for the item for a few seconds.
  function waitForItem(outTradeNo, triesLeft) {
    return showState().then(function (state) {
      if (
        state.inventory.some(function (entry) {
          return entry.outTradeNo === outTradeNo;
        })
      )
        return true;
      if (triesLeft <= 0) return false;
      return new Promise(function (resolve) {
        window.setTimeout(resolve, 300);
      }).then(function () {
        return waitForItem(outTradeNo, triesLeft - 1);
      });
    });
  }

  function buy(item) {
    result('Asking the merchant server to sign the purchase…');
    api('POST', '/purchases', { productId: item.productId, quantity: 1 })
      .then(function (signed) {
        var outTradeNo = JSON.parse(signed.signData).outTradeNo;
        return wx
          .requestMidasPaymentGameItem({ signData: signed.signData, paySig: signed.paySig, signature: signed.signature })
          .then(function () {
            result('Paid. Waiting for the delivery notification…');
            return waitForItem(outTradeNo, 30).then(function (delivered) {
              result(
                delivered ? item.name + ' delivered to your inventory.' : 'Paid; the item has not arrived yet.',
                delivered ? 'ok' : '',
              );
            });
          });
      })
      .catch(function (failure) {
        var text =
          failure && failure.errMsg
            ? failure.errMsg + (failure.errCode ? ' (' + failure.errCode + ')' : '')
            : String(failure.message || failure);
        result(text, /cancel/.test(text) ? '' : 'error');
        return showState();
      });
  }

  api('GET', '/game')
    .then(function (game) {
      var info = document.getElementById('game-info');
      if (!game.configured) {
        info.textContent = 'This demo has no mini game with virtual payment yet.';
        return;
      }
      info.textContent = 'Mini game ' + game.mnpId + ' · offer ' + game.offerId;
      var list = document.getElementById('items');
      game.items.forEach(function (item) {
        itemNames[item.productId] = item.name;
        var line = document.createElement('li');
        var label = document.createElement('span');
        label.textContent = item.name + ' · ' + money(item.price, item.currency);
        line.appendChild(label);
        line.appendChild(
          button(
            'Buy',
            function () {
              buy(item);
            },
            true,
          ),
        );
        list.appendChild(line);
      });
      return showState();
    })
    .catch(function (error) {
      result(error.message, 'error');
    });
})();
