/* global document, window, fetch */
// The demo mini program: a coffee shop. It talks to its own merchant server (/demo/merchant/api) and
// pays with wx.requestPayment, which its container (the superapp host page) provides.
(function () {
  'use strict';
  var pending = {};
  var sequence = 0;

  // wx.requestPayment as a mini program sees it: the container answers through postMessage.
  var wx = {
    requestPayment: function (options) {
      sequence += 1;
      var id = 'pay-' + sequence;
      return new Promise(function (resolve, reject) {
        pending[id] = function (result) {
          var ok = result.errMsg === 'requestPayment:ok';
          if (ok && options.success) options.success(result);
          if (!ok && options.fail) options.fail(result);
          if (options.complete) options.complete(result);
          if (ok) resolve(result);
          else reject(result);
        };
        window.parent.postMessage(
          {
            type: 'paythrough-demo:requestPayment',
            id: id,
            params: {
              timeStamp: options.timeStamp,
              nonceStr: options.nonceStr,
              package: options.package,
              signType: options.signType,
              paySign: options.paySign,
            },
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
    return fetch('/demo/merchant/api' + path, {
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

  function buy(goods, trigger) {
    trigger.disabled = true;
    result('Placing the order with the merchant server…');
    api('POST', '/orders', { goodsId: goods.id, quantity: 1 })
      .then(function (placed) {
        result('Order ' + placed.order.outTradeNo + ' placed. Paying…');
        var payment = placed.payment;
        return wx
          .requestPayment({
            timeStamp: payment.timeStamp,
            nonceStr: payment.nonceStr,
            package: payment.package,
            signType: payment.signType,
            paySign: payment.paySign,
          })
          .then(
            function () {
              // requestPayment:ok is the user's word; the merchant server asks the gateway before believing it.
              result('Checking the payment with the merchant server…');
              return api('GET', '/orders/' + encodeURIComponent(placed.order.outTradeNo)).then(function (order) {
                if (order.trade_state === 'SUCCESS')
                  result(
                    'Paid: ' +
                      order.out_trade_no +
                      ' · ' +
                      money(order.amount.total, order.amount.currency) +
                      ' · transaction ' +
                      order.transaction_id,
                    'ok',
                  );
                else result('Not paid yet: the order is ' + order.trade_state, 'error');
              });
            },
            function (failure) {
              result(
                failure.errMsg === 'requestPayment:fail cancel'
                  ? 'Payment cancelled (' + failure.errMsg + ')'
                  : 'Payment failed (' + failure.errMsg + ')',
                'error',
              );
            },
          );
      })
      .catch(function (error) {
        result(error.message, 'error');
      })
      .then(function () {
        trigger.disabled = false;
        loadOrders();
      });
  }

  function refund(order, trigger) {
    trigger.disabled = true;
    api('POST', '/orders/' + encodeURIComponent(order.outTradeNo) + '/refund')
      .then(function (answer) {
        result('Refund ' + answer.out_refund_no + ' requested: ' + answer.status, 'ok');
      })
      .catch(function (error) {
        result(error.message, 'error');
      })
      .then(loadOrders);
  }

  function loadOrders() {
    return api('GET', '/orders').then(function (answer) {
      var list = document.getElementById('orders');
      list.innerHTML = '';
      if (answer.orders.length === 0) {
        var empty = document.createElement('li');
        empty.className = 'muted';
        empty.textContent = 'No orders yet.';
        list.appendChild(empty);
      }
      answer.orders.slice(0, 8).forEach(function (order) {
        var item = document.createElement('li');
        item.setAttribute('data-order', order.outTradeNo);
        var text = document.createElement('span');
        text.textContent = order.description + ' · ' + money(order.total, order.currency) + ' · ';
        var state = document.createElement('span');
        state.className = 'state';
        state.textContent = '…';
        text.appendChild(state);
        item.appendChild(text);
        list.appendChild(item);
        api('GET', '/orders/' + encodeURIComponent(order.outTradeNo)).then(
          function (current) {
            state.textContent = current.trade_state;
            if (current.trade_state === 'SUCCESS')
              item.appendChild(
                button('Refund', function (event) {
                  refund(order, event.target);
                }),
              );
          },
          function () {
            state.textContent = 'unknown';
          },
        );
      });
    });
  }

  api('GET', '/shop')
    .then(function (shop) {
      var info = document.getElementById('shop-info');
      if (!shop.configured) {
        info.innerHTML = 'This shop has no merchant credentials yet. ';
        var link = document.createElement('a');
        link.href = '/demo/merchant/settings';
        link.target = '_top';
        link.textContent = 'Set them up';
        info.appendChild(link);
        return;
      }
      info.textContent = 'Mini program ' + shop.mnpId + ' · merchant ' + shop.mchid;
      var goods = document.getElementById('goods');
      shop.goods.forEach(function (item) {
        var row = document.createElement('li');
        var name = document.createElement('span');
        name.textContent = item.name;
        var right = document.createElement('span');
        var price = document.createElement('span');
        price.className = 'price';
        price.textContent = money(item.price, 'CNY');
        right.appendChild(price);
        right.appendChild(
          button(
            'Buy',
            function (event) {
              buy(item, event.target);
            },
            true,
          ),
        );
        row.appendChild(name);
        row.appendChild(right);
        goods.appendChild(row);
      });
      return loadOrders();
    })
    .catch(function (error) {
      result(error.message, 'error');
    });
})();
