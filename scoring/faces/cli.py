"""The `scoring` command. Thin: parse, call the library, format; the only place errors become exit codes."""

from __future__ import annotations

import io
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from scoring import __version__
from scoring.base.errors import ScoringError
from scoring.base.files import check_outputs
from scoring.base.numbers import ZERO, fmt
from scoring.faces.chinese import install, usage_text
from scoring.faces.command import (
    emit,
    friendly,
    inputs,
    load,
    os_failed,
    review_option,
    rubric_option,
    say,
    templates_option,
)
from scoring.faces.process import (
    check_arguments,
    closed_streams,
    stdout_lost,
    terminated,
    utf8_mode,
)
from scoring.papers.outputs import names

F = TypeVar("F", bound=Callable[..., Any])
install()  # click's own words (help headings, usage errors) in Chinese


def run() -> None:
    """The console command: like main(), with click's usage errors worded in Chinese."""
    utf8_mode()
    lost = closed_streams()
    check_arguments(sys.argv[1:])
    for stream in (sys.stdout, sys.stderr):  # even when PYTHONIOENCODING names another encoding
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(encoding="utf-8")
    signal.signal(signal.SIGTERM, terminated)
    try:
        code = main(standalone_mode=False)
        sys.stdout.flush()
        stdout_lost(lost)
    except OSError as exc:
        os_failed(exc)
    except click.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx else "scoring"
        say("错误", f"{usage_text(exc)}（用 {command} --help 查看用法）")
        sys.exit(2)
    except click.Abort:
        click.echo("已取消", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, message="%(prog)s %(version)s")
def main() -> None:
    """养老服务评估评分工具：按评分细则为佐证材料包打分、出具自评报告。"""


@main.group()
def rubric() -> None:
    """检查、查看和测试评分细则。"""


@rubric.command("check")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--strict", is_flag=True, help="把警告也当作错误。")
@friendly
def rubric_check(file: Path, strict: bool) -> None:
    """检查评分细则文件：格式、分值合计、规则可达分值、重复编号与重复键。"""
    from scoring.loading.rubric import check, resolve

    built, errors, warnings = check(resolve(str(file)))
    for w in warnings:
        say("错误" if strict else "警告", w)
    for e in errors:
        say("错误", e)
    if errors or (strict and warnings):
        sys.exit(1)
    mandatory = [i for i in built.indicators if i.mandatory]
    summary = f"；{built.natures.must} {len(mandatory)} 项，共 {fmt(sum((i.max for i in mandatory), ZERO))} 分" if mandatory else ""
    click.echo(f"评分细则 {built.id} 检查通过：{len(built.categories)} 个一级指标，{len(built.indicators)} 个二级指标，"
               f"总分 {fmt(built.total)} 分{summary}。")
    if built.extends:
        click.echo(f"继承自 {built.extends}，改动 {len(built.tailoring)} 处：")
        for change in built.tailoring:
            click.echo(f"  - {change}")


@rubric.command("show")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--format", "fmt_", type=click.Choice(names("rubric")), default="table", show_default=True)
@friendly
def rubric_show(file: Path, fmt_: str) -> None:
    """列出评分细则的指标、分值和所需输入。"""
    from scoring.loading.rubric import load, resolve
    from scoring.papers.outputs import render

    emit(render("rubric", fmt_, load(resolve(str(file)))), None)


@rubric.command("test")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--coverage", "show_coverage", is_flag=True,
              help="列出没有任何用例覆盖的分档、档位、前提、否决和星级，以及覆盖率。")
@friendly
def rubric_test(file: Path, show_coverage: bool) -> None:
    """运行评分细则自带的测试用例（同名 .tests 目录），报告每处不符。"""
    from scoring.jobs.coverage import coverage, lines
    from scoring.jobs.rubrictest import run_cases
    from scoring.loading.rubric import load, resolve

    path = resolve(str(file))
    built = load(path)
    passed = failed = 0
    cases = list(run_cases(built, path))
    for case in cases:
        if case.problems:
            failed += 1
            click.echo(f"✗ {case.name}  {case.description}")
            for problem in case.problems:
                click.echo(f"    {problem}")
        else:
            passed += 1
    click.echo(f"通过 {passed} 例，未通过 {failed} 例")
    if show_coverage:
        for line in lines(coverage(built, (c.result for c in cases if c.result is not None))):
            click.echo(line)
    if failed or not passed:
        sys.exit(1)


@main.command()
@click.argument("bundle", type=click.Path(path_type=Path))
@rubric_option
@click.option("--format", "fmt_", type=click.Choice(names("result")), default="table", show_default=True,
              help="输出格式：table 表格，json，csv（Excel/WPS 可直接打开），xlsx 自评打分表，html 或 pdf 自评报告。")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="写入文件（默认输出到屏幕）。")
@click.option("--strict", is_flag=True, help="有未填报的输入时报错。")
@review_option
@friendly
def score(bundle: Path, rubric_file: str | None, fmt_: str, output: Path | None, strict: bool,
          reviews: tuple[Path, ...]) -> None:
    """按评分细则为佐证材料包打分；给出 --review 时同时计算各评审阶段的得分。"""
    from scoring.papers.outputs import render

    check_outputs([output], inputs(bundle, rubric_file, reviews))
    if fmt_ in ("pdf", "xlsx") and output is None:
        raise ScoringError(f"{fmt_.upper()} 不能输出到屏幕", hint=f"请用 -o 指定文件，如 -o 自评报告.{fmt_}")
    result = load(bundle, rubric_file, reviews)
    if strict and result.missing:
        listed = "、".join(f"{i} {n}" for i, n in result.missing[:20])
        more = f" 等 {len(result.missing)} 项" if len(result.missing) > 20 else ""
        raise ScoringError(f"有未填报的输入：{listed}{more}", result.bundle.name, hint="请补充填报后再评分")
    emit(render("result", fmt_, result), output)


@main.command()
@click.argument("rubric_file", metavar="RUBRIC", type=str)
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--assessee", default="", help="被评估单位名称，如 高青县。")
@click.option("--xlsx", is_flag=True, help="生成 Excel/WPS 填报表（填报表.xlsx）而不是 bundle.yaml。")
@friendly
def init(rubric_file: str, directory: Path, assessee: str, xlsx: bool) -> None:
    """为评分细则生成空白材料包：每个输入及其填报提示。"""
    from scoring.jobs.blank import questions, write_blank
    from scoring.loading.rubric import load, resolve

    built = load(resolve(rubric_file))
    manifest = write_blank(built, directory, assessee, xlsx)
    click.echo(f"已生成空白材料包 {manifest}：{len(built.indicators)} 个指标，{questions(built)} 个待填报输入。")


@main.command()
@click.argument("bundle", type=click.Path(path_type=Path, file_okay=False))
@click.option("--rehash", is_flag=True, help="文件内容有变化时，更新清单中登记的 SHA-256。")
@friendly
def docs(bundle: Path, rehash: bool) -> None:
    """把材料包 documents 文件夹中的文件登记到清单（bundle.yaml 或填报表）：新文件加上 SHA-256 和标题，
    报告内容有变化和已缺失的文件。清单的其他内容不变。"""
    from scoring.loading.register import register

    made = register(bundle, rehash)
    for ident, file in made.added:
        click.echo(f"新登记 {ident} {file}")
    for ident, file in made.changed:
        click.echo(f"{'已更新 SHA-256' if rehash else '内容有变化'} {ident} {file}")
    for ident, file in made.missing:
        click.echo(f"文件缺失 {ident} {file}")
    click.echo(f"{made.manifest}：新登记 {len(made.added)} 份，内容有变化 {len(made.changed)} 份，缺失 {len(made.missing)} 份。")
    if made.added:
        click.echo("请在清单中核对新登记文件的标题，补充文号、发文单位和日期。")
    if made.changed and not rehash:
        click.echo("内容有变化的文件仍按原 SHA-256 核验（评分时标记为哈希不符）；确认无误后用 --rehash 更新。")


@main.command()
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="报告 PDF 文件，如 自评报告.pdf。")
@click.option("--html", "html_file", type=click.Path(path_type=Path, dir_okay=False), help="同时保存报告的 HTML。")
@rubric_option
@templates_option
@review_option
@click.option("--final", is_flag=True, help="出正式稿：材料包缺少工作说明或报告正文时拒绝生成（退出码 1），不出草稿。")
@friendly
def report(bundle: Path, output: Path, html_file: Path | None, rubric_file: str | None,
           templates: Path | None, reviews: tuple[Path, ...], final: bool) -> None:
    """生成可打印、盖章报送的自评报告（PDF）；缺工作说明或报告正文时为每页标“草稿”的草稿。"""
    from scoring.base.files import write_all
    from scoring.papers.report import self_evaluation
    from scoring.papers.report.context import draft_notice

    # Checked now as well as when writing: rendering takes seconds, so fail before, not after.
    check_outputs([output, html_file], inputs(bundle, rubric_file, reviews, templates))
    result = load(bundle, rubric_file, reviews)
    if notice := draft_notice(result, final, str(bundle)):
        say("草稿", notice)
    made = self_evaluation(result, templates)
    # Both rendered in full, then written together: a failure leaves both old files as they were.
    write_all([(output, made.pdf), *([(html_file, made.html.encode())] if html_file else [])])
    click.echo(f"已写入 {output}（共 {made.pages} 页）")
    if html_file is not None:
        click.echo(f"已写入 {html_file}")


@main.command()
@click.argument("bundle", type=click.Path(path_type=Path))
@review_option
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="意见表文件：.pdf、.json、.csv、.xlsx 或 .html，如 初评意见表.pdf。")
@click.option("--format", "fmt_", type=click.Choice(names("changes")), help="输出格式（默认按文件扩展名）。")
@rubric_option
@templates_option
@friendly
def diff(bundle: Path, reviews: tuple[Path, ...], output: Path, fmt_: str | None, rubric_file: str | None,
         templates: Path | None) -> None:
    """生成评审意见表：逐阶段列出每项调整（调整前后得分、理由、评审人）、总分与强制性指标达标情况的变化、
    未处理的佐证不足，以及评审单位签章栏。"""
    from scoring.papers.changes import changes
    from scoring.papers.outputs import Options, by_extension, render

    check_outputs([output], inputs(bundle, rubric_file, reviews, templates))
    if not reviews:
        raise ScoringError("没有给出评审意见文件", hint="请用 --review 给出初评（及验收）的评审意见文件")
    name = by_extension("changes", output, fmt_)
    made = changes(load(bundle, rubric_file, reviews))
    emit(render("changes", name, made, Options(templates)), output)


@main.command()
@click.argument("directory", required=False, type=click.Path(path_type=Path, file_okay=False))
@click.option("--rubric", "rubric_file", type=str, help="星级评定细则（文件或自带细则的编号）；等级取自名册的方案不用。")
@click.option("--programme", "programme_file", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="奖补方案文件（YAML），如 programmes/qingdao_center_rewards_2023.yaml。")
@click.option("--centers-total", type=click.IntRange(min=1), help="全市养老服务中心总数（奖励名额按全市总数计）。")
@click.option("--registry", type=click.Path(path_type=Path, dir_okay=False),
              help="名册（CSV：编号,名称,区（市），及奖补方案要读取的列），代替 --centers-total。")
@click.option("--previous", type=click.Path(path_type=Path, dir_okay=False), help="上一年的 ratings.json（连续未达标的判断）。")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="输出目录。")
@click.option("--pdfs", is_flag=True, help="同时为每个中心生成两页的星级评定结果（PDF）。")
@friendly
def rate(directory: Path | None, rubric_file: str | None, programme_file: Path, centers_total: int | None,
         registry: Path | None, previous: Path | None, output: Path, pdfs: bool) -> None:
    """等级评定：为目录中每个材料包评分评级（或按奖补方案从名册读取已有的等级评定结果），再按奖补方案计算奖励名额、
    奖励金额、资金分担和退出。"""
    from scoring.jobs import rating
    from scoring.loading import programme
    from scoring.pipeline.folder import RubricChoice, find, loaded

    if (centers_total is None) == (registry is None):
        raise ScoringError("请给出 --centers-total 或 --registry 之一", hint="奖励名额按全市总数计算")
    plan, doc = programme.read(programme_file)
    choice = RubricChoice.of(rubric_file) if rubric_file else None
    if plan.graded and (directory is not None or registry is None):
        raise ScoringError(f"奖补方案 {programme_file} 的等级取自名册：请只给出 --registry，不给材料包目录",
                           hint="如 scoring rate --programme 方案.yaml --registry 名册.csv -o 结果")
    if not plan.graded and (directory is None or choice is None):
        raise ScoringError("请给出材料包目录和 --rubric", hint="奖补方案按评分细则为每个材料包评分")
    check_outputs([output], [("材料包目录", directory), ("评分细则文件", choice.named if choice else None),
                             ("奖补方案文件", programme_file), ("名册", registry), ("上一年的结果", previous)],
                  folder=True)
    rubric = loaded(choice.named) if choice and choice.named else None
    plan = programme.check(plan, doc, rubric)
    for warning in programme.warnings(plan):
        click.echo(f"注意：{warning}", err=True)
    listed = rating.read_registry(registry) if registry else rating.Registry(centers_total or 0)
    before = rating.read_previous(previous) if previous else None
    if rubric is None or choice is None or directory is None:
        made = rating.rate_graded(plan, listed, before)
    else:
        made = rating.rate(find(directory), rubric, choice, plan, listed, before)
    rating.write(made, output, pdfs)
    from scoring.papers.report.committee import summary

    click.echo(summary(made, output))


@main.group()
def review() -> None:
    """市级初评、省级验收的评审意见文件。"""


@review.command("init")
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="评审意见文件，如 初评.yaml。")
@click.option("--stage", type=click.Choice(["初评", "验收"]), default="初评", show_default=True, help="评审阶段。")
@click.option("--reviewer", default="", help="评审人姓名。")
@click.option("--unit", default="", help="评审单位，如 淄博市民政局。")
@rubric_option
@friendly
def review_init(bundle: Path, output: Path, stage: str, reviewer: str, unit: str, rubric_file: str | None) -> None:
    """为材料包生成空白评审意见：每项指标附县里的填报、有据得分和标记，佐证不足的指标排在前面。"""
    from scoring.base.files import digest, replace_checked
    from scoring.loading.review import blank

    check_outputs([output], inputs(bundle, rubric_file))
    seen = digest(output)  # written only over this version: a desk's save meanwhile is never lost
    result = load(bundle, rubric_file)
    replace_checked(output, blank(result, stage, reviewer, unit).encode(), seen)
    short = sum(1 for i in result.indicators if i.own.supported < i.own.points)
    click.echo(f"已生成空白{stage}评审意见 {output}：{len(result.indicators)} 个指标，其中佐证不足 {short} 项排在最前。")


@review.command("carry")
@click.argument("old_review", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="结转后的评审意见文件。")
@rubric_option
@friendly
def review_carry(old_review: Path, bundle: Path, output: Path, rubric_file: str | None) -> None:
    """把评审意见结转到县里重新报送的材料包：材料有变化的指标，其评审意见标为待复核。"""
    from scoring.base.files import digest, replace_checked
    from scoring.loading.review import carry, read

    check_outputs([output], [("原评审意见文件", old_review), *inputs(bundle, rubric_file)])
    seen = digest(output)  # written only over this version: a desk's save meanwhile is never lost
    old = read(old_review)
    text, changed = carry(old, load(bundle, rubric_file))
    replace_checked(output, text.encode(), seen)
    waiting = sum(1 for o in (*old.stage.overrides, *old.stage.pending) if o.indicator in changed)
    listed = "、".join(changed) if changed else "无"
    click.echo(f"已结转到 {output}：材料有变化的指标 {len(changed)} 项（{listed}），"
               f"其中 {waiting} 条评审意见标为待复核；其余评审意见保持不变。")


@review.command("summary")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="汇总表文件：.pdf、.csv、.json 或 .html。")
@click.option("--format", "fmt_", type=click.Choice(names("summary")), help="输出格式（默认按文件扩展名）。")
@rubric_option
@templates_option
@friendly
def review_summary(directory: Path, output: Path, fmt_: str | None, rubric_file: str | None,
                   templates: Path | None) -> None:
    """汇总目录中各县的材料包及其评审意见（按材料包 SHA-256 对应）：自评、初评、验收总分，强制性指标达标，结论，是否推荐。"""
    from scoring.jobs.summary import summarize
    from scoring.papers.outputs import Options, by_extension, render
    from scoring.pipeline.folder import RubricChoice, find

    found, choice = find(directory), RubricChoice.of(rubric_file)
    check_outputs([output], [*(("材料包", b) for b in found.bundles), *(("评审意见文件", r) for r in found.review_files),
                             ("评分细则文件", choice.named), ("模板目录", templates)])
    name = by_extension("summary", output, fmt_)
    made = summarize(found, choice)
    emit(render("summary", name, made, Options(templates)), output)
    failed = sum(1 for c in made.counties if c.error)
    click.echo(f"共 {len(made.counties)} 个材料包，{failed} 个无法评分；评审意见问题 {len(made.problems)} 条。", err=True)


@main.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option("--host", default=None, help="监听地址（默认 127.0.0.1，只有本机能打开）；给出其他地址时须凭启动时显示的令牌访问。")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="端口。")
@click.option("--reviewer", "named", multiple=True, metavar="姓名@单位",
              help="评审人，如 李明@淄博市民政局（可给多次）；启动时为每人显示个人登录链接，评审意见记在登录者名下。")
@click.option("--reviewers", "roster_file", type=click.Path(path_type=Path, dir_okay=False),
              help="评审人名单文件：每行一位，姓名@单位。")
@rubric_option
@friendly
def serve(directory: Path, host: str | None, port: int, named: tuple[str, ...], roster_file: Path | None,
          rubric_file: str | None) -> None:
    """评审工作台：在浏览器中逐县查看材料、填写评审意见（与 review init 相同的评审意见文件），按 Ctrl-C 停止。"""
    from scoring.faces.desk import serve as run

    run(directory, host, port, rubric_file, click.echo, named, roster_file)


@review.command("audit")
@click.argument("review_file", type=click.Path(path_type=Path, dir_okay=False))
@friendly
def review_audit(review_file: Path) -> None:
    """核对评审意见文件的修改记录（评审工作台每次保存时追加）：列出每次保存，检查文件是否都经工作台修改。"""
    from scoring.faces.desk.reviewers import check, log_path

    if not review_file.is_file():
        raise ScoringError("评审意见文件不存在", str(review_file))
    records, problems = check(review_file)
    if not records:
        raise ScoringError(f"没有修改记录 {log_path(review_file).name}", str(review_file),
                           hint="修改记录由评审工作台在每次保存时写在评审意见文件旁")
    for r in records:
        who = r["reviewer"] + (f"（{r['unit']}）" if r.get("unit") else "") + ("" if r.get("signed_in") else "（页面填写）")
        click.echo(f"{r['at']}  {who}：" + ("；".join(r["changes"]) or "内容未变"))
    if problems:
        raise ScoringError("修改记录与文件不符：" + "；".join(problems), str(review_file))
    click.echo(f"修改记录完整：{len(records)} 次保存，文件与最后一次保存一致。")


@main.command()
@click.argument("pdf", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("bundle", required=False, type=click.Path(path_type=Path))
@review_option
@rubric_option
@templates_option
@friendly
def verify(pdf: Path, bundle: Path | None, reviews: tuple[Path, ...], rubric_file: str | None,
           templates: Path | None) -> None:
    """核验本程序生成的 PDF：附带的结果 JSON 与页面上印的 SHA-256 是否一致；给出材料包（及评审意见）时重新生成并逐字节比对。"""
    from scoring.jobs import verify as sealed

    found = sealed.read(pdf)
    click.echo(sealed.check(found, pdf))
    if bundle is None:
        click.echo("未给出材料包：没有重新生成比对。")
        return
    sealed.compare(found, pdf.read_bytes(), sealed.reproduce(found, load(bundle, rubric_file, reviews), templates))
    click.echo(f"与按 {bundle} 重新生成的{found.kind}逐字节相同。")
