import { describe, expect, it } from 'vitest';
import { buildHostXml, parseHostXml } from './host-xml.ts';

describe('host XML', () => {
  it("reads what Android's XmlSerializer writes: declaration, escaped text, empty elements", () => {
    const xml =
      "<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>" +
      '<xml><appid>mnp_1</appid><body>A &amp; B &lt;3&gt;</body><empty /><blank></blank><ref>&#20013;&#x6587;</ref></xml>';
    expect(parseHostXml(xml)).toEqual({ appid: 'mnp_1', body: 'A & B <3>', empty: '', blank: '', ref: '中文' });
  });

  it('reads CDATA and whitespace between fields, as other senders write them', () => {
    expect(parseHostXml('<xml>\n  <a><![CDATA[x<y]]></a>\n  <b>2</b>\n</xml>\n')).toEqual({ a: 'x<y', b: '2' });
  });

  it('refuses DOCTYPEs, nesting, attributes, repeats, stray ampersands and trailing content', () => {
    for (const bad of [
      '<!DOCTYPE xml [<!ENTITY e "x">]><xml><a>&e;</a></xml>',
      '<xml><a><b>1</b></a></xml>',
      '<xml><a id="1">1</a></xml>',
      '<xml><a>1</a><a>2</a></xml>',
      '<xml><a>1 & 2</a></xml>',
      '<xml><a>1</a></xml><more/>',
      '<xml><a>1</b></xml>',
      'not xml',
    ]) {
      expect(() => parseHostXml(bad), bad).toThrow();
    }
  });

  it('writes escaped text, no CDATA, and reads back what it wrote', () => {
    const xml = buildHostXml({ return_code: 'FAIL', return_msg: `<"it's" & done>`, total_fee: 12, skipped: undefined });
    expect(xml).toBe(
      '<xml><return_code>FAIL</return_code><return_msg>&lt;&quot;it&apos;s&quot; &amp; done&gt;</return_msg>' +
        '<total_fee>12</total_fee></xml>',
    );
    expect(parseHostXml(xml)).toEqual({ return_code: 'FAIL', return_msg: `<"it's" & done>`, total_fee: '12' });
  });
});
