"""The link a claim slip's QR code holds (`/c/<code>` under PARKPASS_PUBLIC_URL).

WeChat opens a link under a prefix registered for the mini-program ("扫普通链接二维码打开小程序")
in the mini-program's claim page, which reads the code from it. Any other browser gets this short
page saying so: it shows the code the holder has on paper anyway, and nothing about the card.
"""

from __future__ import annotations

from html import escape

from flask import Blueprint, Response

from domain.card_claim import split_code

PATH = "/c/"


def claim_link(public_url: str | None, code: str) -> str:
    if public_url is None:
        raise RuntimeError("PARKPASS_PUBLIC_URL is not set: a claim slip's QR code would have nowhere to link")
    return f"{public_url}{PATH}{code}"


def claim_page_blueprint() -> Blueprint:
    bp = Blueprint("claim_page", __name__)

    @bp.get(f"{PATH}<code>")
    def claim_page(code: str) -> Response:
        parts = split_code(code)
        if parts is None:
            body, status = "<p>这不是有效的认领码链接，请核对物业打印的认领单。</p>", 404
        else:
            shown = escape(f"{parts[0]}-{parts[1]}")
            body = (
                f"<p>请用<b>微信</b>扫描认领单上的二维码，在 ParkPass 小程序中认领月卡。</p>"
                f"<p>也可以在小程序“我的月卡 &gt; 认领月卡”中输入认领码：</p><p class=code>{shown}</p>"
            )
            status = 200
        html = (
            '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="robots" content="noindex"><title>认领月卡</title>'
            "<style>body{font:16px/1.6 sans-serif;max-width:32rem;margin:0 auto;padding:1rem}"
            ".code{font:bold 1.6rem monospace;letter-spacing:.1em}</style>"
            f"</head><body><h1>认领月卡</h1>{body}</body></html>"
        )
        return Response(html, status=status, mimetype="text/html", headers={"Cache-Control": "no-store"})

    return bp
