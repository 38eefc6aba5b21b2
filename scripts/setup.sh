#!/usr/bin/env bash
# Set up county-scoring on Debian/Ubuntu: the system libraries PDF rendering needs, a CJK font,
# and a virtual environment in .venv with the package (and, with --test, the test tools and a browser).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk poppler-utils)
# With --test: Debian's chromium and its driver for the end-to-end test of the review desk in a real browser.
if [ "${1:-}" = "--test" ]; then packages+=(chromium chromium-driver); fi
# python3-venv only when the interpreter lacks a working venv/ensurepip.
python3 -c "import ensurepip, venv" 2>/dev/null || packages+=(python3-venv)
# The tests run the command under these locales too (tests/test_locale.py); glibc builds them from `locales`.
test_locales=(zh_CN.GB18030:GB18030 zh_CN.GBK:GBK en_US.ISO-8859-1:ISO-8859-1)
[ "${1:-}" = "--test" ] && packages+=(locales)
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "安装系统软件包：${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
extra=""
[ "${1:-}" = "--test" ] && extra="[test]"
.venv/bin/pip install -q --disable-pip-version-check -e ".${extra}"

if [ "${1:-}" = "--test" ]; then
  have=$(locale -a | tr -d '-' | tr '[:upper:]' '[:lower:]')
  for entry in "${test_locales[@]}"; do
    name=${entry%%:*}
    grep -qx "$(echo "$name" | tr -d '-' | tr '[:upper:]' '[:lower:]')" <<<"$have" && continue
    $sudo localedef -i "${name%%.*}" -f "${entry##*:}" "$name" 2>/dev/null || echo "无法生成区域设置 $name，相关测试将跳过"
  done
fi
