"""The cURL importer against real commands: copied from public API documentation (Kaiko,
GitHub, Stripe, Slack, Twilio, OpenAI, …) and from Chromium's three "Copy as cURL" flavours
(bash, cmd, and curl.exe in PowerShell). Each must parse to the request it sends."""

import base64
import json
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.library.importers.curl import CurlError, flavour_of, parse_curl
from apps.sharing.curl import curl_command

KAIKO = "https://us.market-api.kaiko.io/v2/data/trades.v1/exchanges/cbse/spot/btc-usd"
FORM = ("Content-Type", "application/x-www-form-urlencoded")
JSON_TYPE = ("Content-Type", "application/json")


def basic(user: str, password: str) -> tuple[str, str]:
    return ("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())


@dataclass
class Case:
    name: str
    command: str
    method: str
    url: str
    headers: list[tuple[str, str]] | None = None  # exact, in order, when given
    body: str | None = None
    json_body: object = None  # the body parsed as JSON, when given
    api_key: str = ""
    follow: bool = False
    timeout: float | None = None
    warnings: list[str] = field(default_factory=list)  # parts of the warnings, when given
    no_warnings: bool = False


CASES = [
    # Kaiko -------------------------------------------------------------------------------
    Case(
        "kaiko-ohlcv-docs",
        "curl --compressed -H 'Accept: application/json' -H 'X-Api-Key: <client-api-key>' \\\n"
        f"  '{KAIKO}/aggregations/count_ohlcv_vwap?interval=1h&page_size=10'",
        "GET",
        f"{KAIKO}/aggregations/count_ohlcv_vwap?interval=1h&page_size=10",
        headers=[("Accept", "application/json")],
        api_key="<client-api-key>",
        no_warnings=True,
    ),
    Case(
        "kaiko-trades-env-key",
        f'curl -X GET "{KAIKO}/trades" -H "accept: application/json" '
        '-H "X-Api-Key: $KAIKO_API_KEY"',
        "GET",
        f"{KAIKO}/trades",
        headers=[("accept", "application/json")],
        api_key="",
        warnings=["X-Api-Key is the shell variable $KAIKO_API_KEY"],
    ),
    Case(
        "kaiko-reference-data",
        "curl -X GET 'https://reference-data-api.kaiko.io/v1/exchanges'",
        "GET",
        "https://reference-data-api.kaiko.io/v1/exchanges",
        headers=[],
        no_warnings=True,
    ),
    Case(
        "kaiko-long-options",
        "curl --request GET \\\n"
        "     --url 'https://us.market-api.kaiko.io/v2/data/order_book_snapshots.v1/exchanges/"
        "cbse/spot/btc-usd/snapshots/full?page_size=1' \\\n"
        "     --header 'X-Api-Key: my-key' \\\n"
        "     --header 'accept: application/json'",
        "GET",
        "https://us.market-api.kaiko.io/v2/data/order_book_snapshots.v1/exchanges/cbse/spot/"
        "btc-usd/snapshots/full?page_size=1",
        headers=[("accept", "application/json")],
        api_key="my-key",
    ),
    Case(
        "kaiko-assets-timeout",
        "curl -m 20 -L 'https://reference-data-api.kaiko.io/v1/assets' "
        "-H 'Accept: application/json'",
        "GET",
        "https://reference-data-api.kaiko.io/v1/assets",
        follow=True,
        timeout=20.0,
    ),
    # GitHub ------------------------------------------------------------------------------
    Case(
        "github-list-issues",
        "curl -L \\\n"
        '  -H "Accept: application/vnd.github+json" \\\n'
        '  -H "Authorization: Bearer <YOUR-TOKEN>" \\\n'
        '  -H "X-GitHub-Api-Version: 2022-11-28" \\\n'
        "  https://api.github.com/repos/OWNER/REPO/issues",
        "GET",
        "https://api.github.com/repos/OWNER/REPO/issues",
        headers=[
            ("Accept", "application/vnd.github+json"),
            ("Authorization", "Bearer <YOUR-TOKEN>"),
            ("X-GitHub-Api-Version", "2022-11-28"),
        ],
        follow=True,
        no_warnings=True,
    ),
    Case(
        "github-create-issue",
        "curl -L \\\n  -X POST \\\n"
        '  -H "Accept: application/vnd.github+json" \\\n'
        '  -H "Authorization: Bearer <YOUR-TOKEN>" \\\n'
        '  -H "X-GitHub-Api-Version: 2022-11-28" \\\n'
        "  https://api.github.com/repos/OWNER/REPO/issues \\\n"
        """  -d '{"title":"Found a bug","body":"I'\\''m having a problem with this.","""
        """"assignees":["octocat"],"milestone":1,"labels":["bug"]}'""",
        "POST",
        "https://api.github.com/repos/OWNER/REPO/issues",
        json_body={
            "title": "Found a bug",
            "body": "I'm having a problem with this.",
            "assignees": ["octocat"],
            "milestone": 1,
            "labels": ["bug"],
        },
        follow=True,
    ),
    Case(
        "github-basic-auth-include",
        "curl -i -u USERNAME:TOKEN https://api.github.com/user",
        "GET",
        "https://api.github.com/user",
        headers=[basic("USERNAME", "TOKEN")],
        warnings=["Ignored", "-i"],
    ),
    Case(
        "github-long-options",
        "curl --request GET \\\n"
        '--url "https://api.github.com/octocat" \\\n'
        '--header "Authorization: Bearer YOUR-TOKEN" \\\n'
        '--header "X-GitHub-Api-Version: 2022-11-28"',
        "GET",
        "https://api.github.com/octocat",
        headers=[
            ("Authorization", "Bearer YOUR-TOKEN"),
            ("X-GitHub-Api-Version", "2022-11-28"),
        ],
    ),
    Case(
        "github-oauth-token",
        'curl -H "Authorization: token OAUTH-TOKEN" https://api.github.com',
        "GET",
        "https://api.github.com",
        headers=[("Authorization", "token OAUTH-TOKEN")],
    ),
    Case(
        "github-head",
        "curl -I https://api.github.com/users/octocat/orgs",
        "HEAD",
        "https://api.github.com/users/octocat/orgs",
        body="",
    ),
    Case(
        "github-search-get-urlencode",
        'curl -G https://api.github.com/search/repositories --data-urlencode "q=tetris '
        'language:assembly" --data-urlencode "sort=stars"',
        "GET",
        "https://api.github.com/search/repositories?q=tetris+language%3Aassembly&sort=stars",
        body="",
        headers=[],
    ),
    Case(
        "github-graphql",
        'curl -H "Authorization: bearer TOKEN" -X POST -d " \\\n { \\\n'
        '   \\"query\\": \\"query { viewer { login }}\\" \\\n } \\\n" '
        "https://api.github.com/graphql",
        "POST",
        "https://api.github.com/graphql",
        json_body={"query": "query { viewer { login }}"},
    ),
    Case(
        "github-patch",
        'curl -X PATCH https://api.github.com/repos/OWNER/REPO -d \'{"name":"new"}\'',
        "PATCH",
        "https://api.github.com/repos/OWNER/REPO",
        body='{"name":"new"}',
        headers=[FORM],
    ),
    Case(
        "github-delete",
        'curl -L -X DELETE -H "Authorization: Bearer <YOUR-TOKEN>" '
        "https://api.github.com/repos/OWNER/REPO",
        "DELETE",
        "https://api.github.com/repos/OWNER/REPO",
        follow=True,
    ),
    # Stripe ------------------------------------------------------------------------------
    Case(
        "stripe-charge",
        "curl https://api.stripe.com/v1/charges \\\n"
        "  -u sk_test_4eC39HqLyjWDarjtT1zdp7dc: \\\n"
        "  -d amount=2000 \\\n  -d currency=usd \\\n  -d source=tok_visa \\\n"
        '  -d description="My First Test Charge (created for API docs)"',
        "POST",
        "https://api.stripe.com/v1/charges",
        headers=[basic("sk_test_4eC39HqLyjWDarjtT1zdp7dc", ""), FORM],
        body="amount=2000&currency=usd&source=tok_visa"
        "&description=My First Test Charge (created for API docs)",
        no_warnings=True,
    ),
    Case(
        "stripe-customer",
        'curl https://api.stripe.com/v1/customers -u "sk_test_xxx:" '
        '-d email="jenny.rosen@example.com" -d name="Jenny Rosen"',
        "POST",
        "https://api.stripe.com/v1/customers",
        body="email=jenny.rosen@example.com&name=Jenny Rosen",
    ),
    Case(
        "stripe-list-get",
        'curl -G https://api.stripe.com/v1/customers \\\n  -u "sk_test_abc:" \\\n  -d limit=3',
        "GET",
        "https://api.stripe.com/v1/customers?limit=3",
        headers=[basic("sk_test_abc", "")],
        body="",
    ),
    Case(
        "stripe-delete",
        'curl https://api.stripe.com/v1/customers/cus_NffrFeUfNV2Hib \\\n  -u "sk_test_abc:" \\\n'
        "  -X DELETE",
        "DELETE",
        "https://api.stripe.com/v1/customers/cus_NffrFeUfNV2Hib",
    ),
    Case(
        "stripe-idempotency-brackets",
        'curl https://api.stripe.com/v1/payment_intents -u "sk_test_abc:" '
        '-H "Idempotency-Key: KG5LxwFBepaKHyUD" -d amount=2000 -d currency=usd '
        '-d "automatic_payment_methods[enabled]"=true',
        "POST",
        "https://api.stripe.com/v1/payment_intents",
        headers=[("Idempotency-Key", "KG5LxwFBepaKHyUD"), basic("sk_test_abc", ""), FORM],
        body="amount=2000&currency=usd&automatic_payment_methods[enabled]=true",
    ),
    Case(
        "stripe-metadata",
        'curl https://api.stripe.com/v1/customers/cus_1 -u "sk_test_abc:" '
        '-d "metadata[order_id]"=6735',
        "POST",
        "https://api.stripe.com/v1/customers/cus_1",
        body="metadata[order_id]=6735",
    ),
    # Slack -------------------------------------------------------------------------------
    Case(
        "slack-webhook",
        "curl -X POST -H 'Content-type: application/json' --data '{\"text\":\"Hello, World!\"}' "
        "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
        "POST",
        "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
        headers=[("Content-type", "application/json")],
        json_body={"text": "Hello, World!"},
    ),
    Case(
        "slack-post-message",
        "curl -X POST -H 'Authorization: Bearer xoxb-1234' "
        "-H 'Content-type: application/json; charset=utf-8' "
        '--data \'{"channel":"C123ABC456","text":"I hope the tour went well, Mr. Wonka."}\' '
        "https://slack.com/api/chat.postMessage",
        "POST",
        "https://slack.com/api/chat.postMessage",
        headers=[
            ("Authorization", "Bearer xoxb-1234"),
            ("Content-type", "application/json; charset=utf-8"),
        ],
        json_body={"channel": "C123ABC456", "text": "I hope the tour went well, Mr. Wonka."},
    ),
    Case(
        "slack-files-upload-form",
        'curl -F file=@dramacat.gif -F "initial_comment=Shakes the cat" '
        "-F channels=C024BE91L,D032AC32T "
        '-H "Authorization: Bearer xoxb-xxxxxxxxx-xxxx" https://slack.com/api/files.upload',
        "POST",
        "https://slack.com/api/files.upload",
        headers=[("Authorization", "Bearer xoxb-xxxxxxxxx-xxxx")],
        body="",
        warnings=["Not supported", "-F (multipart form)"],
    ),
    Case(
        "slack-conversations-list",
        'curl https://slack.com/api/conversations.list -H "Authorization: Bearer xoxb-your-token"',
        "GET",
        "https://slack.com/api/conversations.list",
        headers=[("Authorization", "Bearer xoxb-your-token")],
    ),
    Case(
        "slack-token-in-body",
        'curl -d "token=xoxp-1234&channel=C1234567890" https://slack.com/api/conversations.history',
        "POST",
        "https://slack.com/api/conversations.history",
        body="token=xoxp-1234&channel=C1234567890",
        headers=[FORM],
    ),
    # Other public APIs -------------------------------------------------------------------
    Case(
        "twilio-send-sms",
        'curl -X POST "https://api.twilio.com/2010-04-01/Accounts/$TWILIO_ACCOUNT_SID/'
        'Messages.json" \\\n'
        '--data-urlencode "Body=Hi there" \\\n'
        '--data-urlencode "From=+15557122661" \\\n'
        '--data-urlencode "To=+15558675310" \\\n'
        "-u $TWILIO_ACCOUNT_SID:$TWILIO_AUTH_TOKEN",
        "POST",
        "https://api.twilio.com/2010-04-01/Accounts/$TWILIO_ACCOUNT_SID/Messages.json",
        body="Body=Hi+there&From=%2B15557122661&To=%2B15558675310",
        warnings=["$TWILIO_ACCOUNT_SID", "$TWILIO_AUTH_TOKEN"],
    ),
    Case(
        "openai-chat",
        "curl https://api.openai.com/v1/chat/completions \\\n"
        '  -H "Content-Type: application/json" \\\n'
        '  -H "Authorization: Bearer $OPENAI_API_KEY" \\\n'
        """  -d '{\n    "model": "gpt-4o",\n    "messages": [{"role": "user", "content": """
        """"Hello!"}]\n  }'""",
        "POST",
        "https://api.openai.com/v1/chat/completions",
        headers=[JSON_TYPE, ("Authorization", "Bearer $OPENAI_API_KEY")],
        json_body={"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello!"}]},
        warnings=["$OPENAI_API_KEY"],
    ),
    Case(
        "sendgrid-mail-send",
        "curl --request POST \\\n--url https://api.sendgrid.com/v3/mail/send \\\n"
        '--header "Authorization: Bearer $SENDGRID_API_KEY" \\\n'
        "--header 'Content-Type: application/json' \\\n"
        """--data '{"personalizations": [{"to": [{"email": "test@example.com"}]}],"""
        """"from": {"email": "test@example.com"},"subject": "Sending with SendGrid is Fun"}'""",
        "POST",
        "https://api.sendgrid.com/v3/mail/send",
        json_body={
            "personalizations": [{"to": [{"email": "test@example.com"}]}],
            "from": {"email": "test@example.com"},
            "subject": "Sending with SendGrid is Fun",
        },
    ),
    Case(
        "cloudflare-json-flag",
        'curl "https://api.cloudflare.com/client/v4/zones/023e105f4ecef8ad9ca31a8372d0c353/'
        'dns_records" \\\n  --request POST \\\n'
        '  --header "X-Auth-Email: user@example.com" \\\n'
        """  --json '{\n    "type": "A",\n    "name": "example.com",\n    "ttl": 3600\n  }'""",
        "POST",
        "https://api.cloudflare.com/client/v4/zones/023e105f4ecef8ad9ca31a8372d0c353/dns_records",
        headers=[("X-Auth-Email", "user@example.com"), JSON_TYPE, ("Accept", "application/json")],
        json_body={"type": "A", "name": "example.com", "ttl": 3600},
    ),
    Case(
        "digitalocean-droplets",
        'curl -X GET \\\n  -H "Content-Type: application/json" \\\n'
        '  -H "Authorization: Bearer dop_v1_abc" \\\n'
        '  "https://api.digitalocean.com/v2/droplets?page=1&per_page=1"',
        "GET",
        "https://api.digitalocean.com/v2/droplets?page=1&per_page=1",
        headers=[JSON_TYPE, ("Authorization", "Bearer dop_v1_abc")],
        body="",
    ),
    Case(
        "mailgun-form",
        "curl -s --user 'api:YOUR_API_KEY' \\\n"
        "    https://api.mailgun.net/v3/YOUR_DOMAIN_NAME/messages \\\n"
        "    -F from='Excited User <mailgun@YOUR_DOMAIN_NAME>' \\\n"
        "    -F to=YOU@YOUR_DOMAIN_NAME \\\n    -F subject='Hello'",
        "POST",
        "https://api.mailgun.net/v3/YOUR_DOMAIN_NAME/messages",
        headers=[basic("api", "YOUR_API_KEY")],
        warnings=["-F (multipart form)", "-s"],
    ),
    Case(
        "shopify-products",
        'curl -X GET "https://your-development-store.myshopify.com/admin/api/2024-01/'
        'products.json" \\\n-H "X-Shopify-Access-Token: {access_token}"',
        "GET",
        "https://your-development-store.myshopify.com/admin/api/2024-01/products.json",
        headers=[("X-Shopify-Access-Token", "{access_token}")],
    ),
    Case(
        "binance-signed-order",
        'curl -H "X-MBX-APIKEY: vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco5q" -X POST '
        "'https://api.binance.com/api/v3/order?symbol=LTCBTC&side=BUY&type=LIMIT"
        "&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
        "&signature=c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71'",
        "POST",
        "https://api.binance.com/api/v3/order?symbol=LTCBTC&side=BUY&type=LIMIT"
        "&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
        "&signature=c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71",
        headers=[("X-MBX-APIKEY", "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco5q")],
        body="",
    ),
    Case(
        "coinbase-book",
        "curl --request GET \\\n"
        "     --url https://api.exchange.coinbase.com/products/BTC-USD/book?level=2 \\\n"
        "     --header 'Accept: application/json'",
        "GET",
        "https://api.exchange.coinbase.com/products/BTC-USD/book?level=2",
        headers=[("Accept", "application/json")],
    ),
    Case(
        "anthropic-messages",
        "curl https://api.anthropic.com/v1/messages \\\n"
        '     --header "x-api-key: $ANTHROPIC_API_KEY" \\\n'
        '     --header "anthropic-version: 2023-06-01" \\\n'
        '     --header "content-type: application/json" \\\n'
        "     --data \\\n"
        """'{\n    "model": "claude-3-5-sonnet-20241022",\n    "max_tokens": 1024\n}'""",
        "POST",
        "https://api.anthropic.com/v1/messages",
        headers=[("anthropic-version", "2023-06-01"), ("content-type", "application/json")],
        json_body={"model": "claude-3-5-sonnet-20241022", "max_tokens": 1024},
        api_key="",
        warnings=["$ANTHROPIC_API_KEY"],
    ),
    Case(
        "notion-concatenated-quotes",
        "curl 'https://api.notion.com/v1/users' \\\n"
        "  -H 'Authorization: Bearer '\"secret_abc\"'' \\\n"
        '  -H "Notion-Version: 2022-06-28"',
        "GET",
        "https://api.notion.com/v1/users",
        headers=[("Authorization", "Bearer secret_abc"), ("Notion-Version", "2022-06-28")],
    ),
    Case(
        "airtable-encoded-url",
        'curl "https://api.airtable.com/v0/appXXXX/Table%201?maxRecords=3&view=Grid%20view" \\\n'
        '  -H "Authorization: Bearer YOUR_SECRET_API_TOKEN"',
        "GET",
        "https://api.airtable.com/v0/appXXXX/Table%201?maxRecords=3&view=Grid%20view",
        headers=[("Authorization", "Bearer YOUR_SECRET_API_TOKEN")],
    ),
    Case(
        "datadog-validate-braced-variable",
        'curl -X GET "https://api.datadoghq.com/api/v1/validate" \\\n'
        '-H "Accept: application/json" \\\n-H "DD-API-KEY: ${DD_API_KEY}"',
        "GET",
        "https://api.datadoghq.com/api/v1/validate",
        headers=[("Accept", "application/json"), ("DD-API-KEY", "${DD_API_KEY}")],
        warnings=["$DD_API_KEY"],
    ),
    Case(
        "pagerduty-incidents",
        "curl --request GET \\\n  --url https://api.pagerduty.com/incidents \\\n"
        "  --header 'Accept: application/vnd.pagerduty+json;version=2' \\\n"
        "  --header 'Authorization: Token token=y_NbAkKc66ryYTWUXYEu' \\\n"
        "  --header 'Content-Type: application/json'",
        "GET",
        "https://api.pagerduty.com/incidents",
        headers=[
            ("Accept", "application/vnd.pagerduty+json;version=2"),
            ("Authorization", "Token token=y_NbAkKc66ryYTWUXYEu"),
            JSON_TYPE,
        ],
    ),
    Case(
        "heroku-netrc",
        'curl -n https://api.heroku.com/apps -H "Accept: application/vnd.heroku+json; version=3"',
        "GET",
        "https://api.heroku.com/apps",
        headers=[("Accept", "application/vnd.heroku+json; version=3")],
        warnings=["Not supported", "-n"],
    ),
    Case(
        "algolia-query",
        "curl -X POST \\\n"
        '     -H "X-Algolia-API-Key: ${API_KEY}" \\\n'
        '     -H "X-Algolia-Application-Id: ${APPLICATION_ID}" \\\n'
        """     --data-binary '{ "params": "query=george%20clo&hitsPerPage=2" }' \\\n"""
        '     "https://${APPLICATION_ID}-dsn.algolia.net/1/indexes/imdb/query"',
        "POST",
        "https://${APPLICATION_ID}-dsn.algolia.net/1/indexes/imdb/query",
        json_body={"params": "query=george%20clo&hitsPerPage=2"},
        warnings=["$API_KEY", "$APPLICATION_ID"],
    ),
    Case(
        "elasticsearch-no-scheme",
        'curl -X GET "localhost:9200/_cat/health?v=true&pretty"',
        "GET",
        "http://localhost:9200/_cat/health?v=true&pretty",
        warnings=["http:// was assumed"],
    ),
    Case(
        "elasticsearch-attached-data",
        'curl -X PUT "localhost:9200/customer/_doc/1?pretty" -H \'Content-Type: '
        'application/json\' -d\'\n{\n  "name": "John Doe"\n}\n\'',
        "PUT",
        "http://localhost:9200/customer/_doc/1?pretty",
        headers=[JSON_TYPE],
        json_body={"name": "John Doe"},
    ),
    Case(
        "httpbin-basic-auth",
        "curl -u user:passwd https://httpbin.org/basic-auth/user/passwd",
        "GET",
        "https://httpbin.org/basic-auth/user/passwd",
        headers=[basic("user", "passwd")],
        no_warnings=True,
    ),
    Case(
        "httpbin-cookies",
        'curl -b "session=abc123; theme=light" https://httpbin.org/cookies',
        "GET",
        "https://httpbin.org/cookies",
        headers=[("Cookie", "session=abc123; theme=light")],
    ),
    Case(
        "httpbin-agent-referer",
        'curl -A "Mozilla/5.0" -e https://example.com/ https://httpbin.org/headers',
        "GET",
        "https://httpbin.org/headers",
        headers=[("User-Agent", "Mozilla/5.0"), ("Referer", "https://example.com/")],
    ),
    Case(
        "httpbin-max-time",
        "curl -m 5 --connect-timeout 2 https://httpbin.org/delay/10",
        "GET",
        "https://httpbin.org/delay/10",
        timeout=5.0,
        warnings=["Ignored", "--connect-timeout"],
    ),
    Case(
        "badssl-insecure",
        "curl -k https://self-signed.badssl.com/",
        "GET",
        "https://self-signed.badssl.com/",
        warnings=["-k/--insecure is not honoured"],
    ),
    Case(
        "combined-short-flags-output",
        "curl -sSfL https://example.com -o out.html",
        "GET",
        "https://example.com",
        follow=True,
        warnings=["-s", "-S", "-f", "-o"],
    ),
    Case(
        "oauth2-bearer",
        "curl --oauth2-bearer mF_9.B5f-4.1JqM https://api.example.com/resource",
        "GET",
        "https://api.example.com/resource",
        headers=[("Authorization", "Bearer mF_9.B5f-4.1JqM")],
    ),
    Case(
        "attached-values",
        "curl -XPOST https://api.example.com/items -H'Content-Type: application/json' "
        "-d'{\"a\":1}'",
        "POST",
        "https://api.example.com/items",
        headers=[JSON_TYPE],
        body='{"a":1}',
    ),
    Case(
        "header-removed",
        'curl -H "Accept:" -H "X-Keep: 1" https://example.com',
        "GET",
        "https://example.com",
        headers=[("X-Keep", "1")],
    ),
    Case(
        "header-empty-value",
        'curl -H "X-Empty;" https://example.com',
        "GET",
        "https://example.com",
        headers=[("X-Empty", "")],
    ),
    Case(
        "data-from-file",
        "curl -d @payload.json https://example.com/upload",
        "GET",
        "https://example.com/upload",
        body="",
        warnings=["-d @payload.json (a body read from a file"],
    ),
    Case(
        "data-urlencode-forms",
        'curl --data-urlencode "name=I am Daniel" --data-urlencode "=a b" https://example.com',
        "POST",
        "https://example.com",
        body="name=I+am+Daniel&a+b",
        headers=[FORM],
    ),
    Case(
        "two-urls",
        "curl --url https://example.com/a https://example.com/b",
        "GET",
        "https://example.com/a",
        warnings=["Only the first URL is sent; 1 more left out."],
    ),
    Case(
        "upload-file-unsupported",
        "curl -T file.txt https://example.com/put",
        "GET",
        "https://example.com/put",
        warnings=["Not supported", "-T"],
    ),
    Case(
        "proxy-unsupported",
        "curl --proxy http://proxy:3128 https://example.com",
        "GET",
        "https://example.com",
        warnings=["--proxy"],
    ),
    Case(
        "client-headers-dropped",
        "curl -H 'Host: example.com' -H 'Content-Length: 3' -H 'Connection: keep-alive' "
        "-d abc https://example.com/x",
        "POST",
        "https://example.com/x",
        headers=[FORM],
        body="abc",
        warnings=["Connection", "Content-Length", "Host"],
    ),
    Case(
        "ansi-c-quoting",
        "curl $'https://example.com/a\\x2fb' -H $'X-Note: tab\\there' "
        "--data-raw $'line1\\nline2 \\'quoted\\''",
        "POST",
        "https://example.com/a/b",
        headers=[("X-Note", "tab\there"), FORM],
        body="line1\nline2 'quoted'",
    ),
    Case(
        "prompt-and-comment",
        "$ curl https://example.com/status  # check it",
        "GET",
        "https://example.com/status",
    ),
    Case(
        "double-dash-url",
        "curl -H 'Accept: text/plain' -- https://example.com/-dash",
        "GET",
        "https://example.com/-dash",
        headers=[("Accept", "text/plain")],
    ),
    # Chromium "Copy as cURL (bash)" --------------------------------------------------------
    Case(
        "chromium-bash-get",
        f"curl '{KAIKO}/aggregations/ohlcv?interval=1d' \\\n"
        "  -H 'accept: application/json' \\\n"
        "  -H 'accept-language: en-US,en;q=0.9' \\\n"
        '  -H \'sec-ch-ua: "Chromium";v="131", "Not_A Brand";v="24"\' \\\n'
        "  -H 'sec-ch-ua-mobile: ?0' \\\n"
        "  -H 'sec-fetch-mode: cors' \\\n"
        "  -H 'user-agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like "
        "Gecko) Chrome/131.0.0.0 Safari/537.36' \\\n"
        "  -H 'x-api-key: abcd1234efgh'",
        "GET",
        f"{KAIKO}/aggregations/ohlcv?interval=1d",
        headers=[
            ("accept", "application/json"),
            ("accept-language", "en-US,en;q=0.9"),
            ("sec-ch-ua", '"Chromium";v="131", "Not_A Brand";v="24"'),
            ("sec-ch-ua-mobile", "?0"),
            ("sec-fetch-mode", "cors"),
            (
                "user-agent",
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                "Chrome/131.0.0.0 Safari/537.36",
            ),
        ],
        api_key="abcd1234efgh",
        no_warnings=True,
    ),
    Case(
        "chromium-bash-post-cookies",
        "curl 'https://example.com/api/graphql' \\\n"
        "  -H 'content-type: application/json' \\\n"
        "  -b 'sessionid=abc; csrftoken=xyz' \\\n"
        "  -H 'origin: https://example.com' \\\n"
        '  --data-raw $\'{"query":"{ me { name } }","variables":{"note":"it\\\'s"}}\'',
        "POST",
        "https://example.com/api/graphql",
        headers=[
            ("content-type", "application/json"),
            ("origin", "https://example.com"),
            ("Cookie", "sessionid=abc; csrftoken=xyz"),
        ],
        json_body={"query": "{ me { name } }", "variables": {"note": "it's"}},
    ),
    # Chromium "Copy as cURL (cmd)" ---------------------------------------------------------
    Case(
        "chromium-cmd-get",
        f'curl ^"{KAIKO}/aggregations/ohlcv?interval=1d^&page_size=2^" ^\n'
        '  -H ^"accept: application/json^" ^\n'
        '  -H ^"sec-ch-ua: ^\\^"Chromium^\\^";v=^\\^"131^\\^"^" ^\n'
        '  -H ^"x-api-key: abcd1234efgh^"',
        "GET",
        f"{KAIKO}/aggregations/ohlcv?interval=1d&page_size=2",
        headers=[("accept", "application/json"), ("sec-ch-ua", '"Chromium";v="131"')],
        api_key="abcd1234efgh",
    ),
    Case(
        "chromium-cmd-post-percent",
        'curl ^"https://example.com/api/items^" ^\n'
        '  -H ^"content-type: application/json^" ^\n'
        '  --data-raw ^"^{^\\^"name^\\^":^\\^"50^% off^\\^"^}^"',
        "POST",
        "https://example.com/api/items",
        headers=[("content-type", "application/json")],
        json_body={"name": "50% off"},
    ),
    Case(
        "chromium-cmd-newline-in-body",
        'curl ^"https://example.com/^" ^\n  --data-raw ^"line1^\n\nline2^"',
        "POST",
        "https://example.com/",
        body="line1\nline2",
    ),
    Case(
        "chromium-cmd-carets-and-ampersands",
        'curl ^"https://example.com/a?x=1^&y=2^" -H ^"x-expr: a^^b ^| c ^<d^>^"',
        "GET",
        "https://example.com/a?x=1&y=2",
        headers=[("x-expr", "a^b | c <d>")],
    ),
    # curl.exe in PowerShell ----------------------------------------------------------------
    Case(
        "powershell-curl-exe",
        'curl.exe -X POST "https://api.example.com/v1/items" `\n'
        '  -H "Content-Type: application/json" `\n'
        '  -H "Authorization: Bearer abc123" `\n'
        """  -d '{"name":"it''s a widget"}'""",
        "POST",
        "https://api.example.com/v1/items",
        headers=[JSON_TYPE, ("Authorization", "Bearer abc123")],
        json_body={"name": "it's a widget"},
    ),
    Case(
        "powershell-backtick-escapes",
        'curl.exe "https://example.com/search?q=a" -H "X-Note: say `"hi`""',
        "GET",
        "https://example.com/search?q=a",
        headers=[("X-Note", 'say "hi"')],
    ),
    Case(
        "powershell-insecure-windows-flag",
        "curl.exe --ssl-no-revoke -k https://localhost:8443/",
        "GET",
        "https://localhost:8443/",
        warnings=["-k/--insecure", "--ssl-no-revoke"],
    ),
    Case(
        "powershell-env-key",
        'curl.exe https://us.market-api.kaiko.io/v2/data -H "X-Api-Key: $env:KAIKO_KEY"',
        "GET",
        "https://us.market-api.kaiko.io/v2/data",
        api_key="",
        warnings=["X-Api-Key is the shell variable $env:KAIKO_KEY"],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_it_parses_real_commands(case: Case) -> None:
    parsed = parse_curl(case.command)
    assert parsed.method == case.method
    assert parsed.url == case.url
    if case.headers is not None:
        assert parsed.headers == case.headers
    if case.body is not None:
        assert parsed.body == case.body
    if case.json_body is not None:
        assert json.loads(parsed.body) == case.json_body
    assert parsed.api_key == case.api_key
    assert parsed.follow_redirects == case.follow
    assert parsed.timeout == case.timeout
    text = " ".join(parsed.warnings)
    for part in case.warnings:
        assert part in text
    if case.no_warnings:
        assert parsed.warnings == []


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 60
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize(
    ("command", "flavour"),
    [
        ("curl 'https://example.com'", "bash"),
        ('curl ^"https://example.com^"', "cmd"),
        ('curl https://example.com ^\n -H ^"a: b^"', "cmd"),
        ('curl.exe "https://example.com"', "powershell"),
        ("curl https://example.com `\n -k", "powershell"),
    ],
)
def test_it_tells_the_shell_flavour(command: str, flavour: str) -> None:
    assert flavour_of(command) == flavour


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("", "Paste a cURL command"),
        ("wget https://example.com", "not a cURL command"),
        ("curl -H 'Accept: json https://example.com", "not closed"),
        ('curl -H "Accept: json https://example.com', "not closed"),
        ("curl $'https://example.com", "not closed"),
        ('curl.exe -H "a: b https://example.com', "not closed"),
        ("curl -X POST", "no URL"),
        ("curl -m abc https://example.com", "number of seconds"),
        ("curl -m 0 https://example.com", "above 0"),
        ("curl https://example.com -H", "needs a value"),
        ("curl https://example.com --header", "needs a value"),
        ("curl -H 'NoColon' https://example.com", "The 1st -H is not a header"),
        ("curl -H 'A: b' --header ': value' https://example.com", "The 2nd --header has no"),
        ("curl -H ';' https://example.com", "not a header"),
        ("curl " + "a" * 300_001, "longer than"),
    ],
)
def test_it_refuses_what_is_not_a_command_with_a_reason(command: str, message: str) -> None:
    with pytest.raises(CurlError, match=message):
        parse_curl(command)


ROUND_TRIPS = [
    {
        "method": "GET",
        "url": "https://us.market-api.kaiko.io/v2/data/trades.v1/exchanges",
        "query": [("page_size", "10"), ("interval", "1h")],
        "headers": [("Accept", "application/json")],
        "body": "",
    },
    {
        "method": "POST",
        "url": "https://api.example.com/v1/items",
        "query": [],
        "headers": [("Content-Type", "application/json"), ("X-Note", 'it\'s "quoted"')],
        "body": '{"name": "widget", "note": "line1\\nline2", "price": "$5"}',
    },
    {
        "method": "DELETE",
        "url": "https://api.example.com/v1/items/42",
        "query": [("reason", "a b&c")],
        "headers": [],
        "body": "",
    },
]


@pytest.mark.parametrize("request_", ROUND_TRIPS, ids=["get", "post-json", "delete-query"])
def test_copy_as_curl_parses_back_to_the_same_request(request_: dict) -> None:
    command = curl_command(
        method=request_["method"],
        url=request_["url"],
        query=request_["query"],
        headers=request_["headers"],
        has_api_key=False,
        body=request_["body"],
        timeout=10,
        follow_redirects=True,
    )
    parsed = parse_curl(command.text)
    assert parsed.method == request_["method"]
    assert parsed.url.split("?")[0] == request_["url"]
    assert parsed.headers[: len(request_["headers"])] == request_["headers"]
    assert parsed.body == request_["body"]
    assert parsed.follow_redirects is True
    assert parsed.timeout == 10
    again = curl_command(
        method=parsed.method,
        url=parsed.url,
        query=[],
        headers=parsed.headers,
        has_api_key=False,
        body=parsed.body,
        timeout=parsed.timeout or 10,
        follow_redirects=parsed.follow_redirects,
    )
    assert parse_curl(again.text) == parsed


# Whatever is pasted: a request or a CurlError with a message, never another exception.

_PIECES = st.sampled_from(
    ["curl", "curl.exe", " ", "\\\n", "^\n", "`\n", "'", '"', "$'", "^", "`", "\\", "-H", "-d",
     "-X", "--json", "-G", "-u", "-b", "-m", "--url", "-sSL", "-F", "@f", "=", ":", "&", "%",
     "$X", "${Y}", "https://example.com/a?b=1", "x-api-key: k", "\\x41", "\\u00e9", "\n"]
)  # fmt: skip


@given(st.lists(_PIECES, max_size=30).map("".join))
@settings(max_examples=300, deadline=None)
def test_any_paste_gives_a_request_or_a_reason(text: str) -> None:
    try:
        parsed = parse_curl(text)
    except CurlError as error:
        assert str(error)
    else:
        assert parsed.url and parsed.method
        assert all(name for name, _ in parsed.headers)


@given(st.text(max_size=200))
@settings(max_examples=300, deadline=None)
def test_any_text_after_curl_gives_a_request_or_a_reason(text: str) -> None:
    try:
        parse_curl("curl " + text)
    except CurlError as error:
        assert str(error)


@pytest.mark.parametrize(
    "command",
    [
        "curl -H 'Authorization Bearer sk_live_SECRET123' https://example.com",
        "curl -H ': sk_live_SECRET123' https://example.com",
        "sk_live_SECRET123 curl https://example.com",
        "curl -m sk_live_SECRET123 https://example.com",
    ],
)
def test_no_message_repeats_what_was_pasted(command: str) -> None:
    """A mistyped header may be a credential: messages name the option, never its value."""
    with pytest.raises(CurlError) as refused:
        parse_curl(command)
    assert "SECRET123" not in str(refused.value)


def test_warnings_do_not_repeat_extra_urls() -> None:
    parsed = parse_curl("curl https://a.example/ https://b.example/?api_key=SECRET123")
    assert "SECRET123" not in " ".join(parsed.warnings)
