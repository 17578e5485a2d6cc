"""Learning-rate schedules at chosen steps."""

import json
import math

import pytest

from nntrain.monitor import is_improvement
from nntrain.optim.schedules import SCHEDULES


def make(name, **options):
    return SCHEDULES[name](0.1, 10, 5, **options)  # base lr 0.1, 10 epochs of 5 steps


def test_constant():
    assert [make("constant").lr(s) for s in (0, 17, 49)] == [0.1, 0.1, 0.1]


def test_step_decay_every_step_size_epochs():
    schedule = make("step", step_size=3, gamma=0.5)
    assert schedule.lr(14) == pytest.approx(0.1)      # epoch 2
    assert schedule.lr(15) == pytest.approx(0.05)     # epoch 3
    assert schedule.lr(30) == pytest.approx(0.025)    # epoch 6


def test_exponential_per_epoch():
    schedule = make("exponential", gamma=0.9)
    assert schedule.lr(4) == pytest.approx(0.1)
    assert schedule.lr(5) == pytest.approx(0.09)
    assert schedule.lr(49) == pytest.approx(0.1 * 0.9**9)


def test_cosine_with_warmup():
    schedule = make("cosine", warmup_epochs=2, min_lr=0.01)
    assert schedule.lr(0) == pytest.approx(0.01)          # 1 of 10 warm-up steps
    assert schedule.lr(9) == pytest.approx(0.1)           # end of warm-up
    assert schedule.lr(10) == pytest.approx(0.1)          # decay starts at the peak
    assert schedule.lr(30) == pytest.approx(0.01 + 0.09 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert schedule.lr(50) == pytest.approx(0.01)


def test_one_cycle_rises_to_lr_then_falls_far_below():
    schedule = make("one_cycle", pct_start=0.3, div_factor=10, final_div_factor=100)
    rates = [schedule.lr(s) for s in range(50)]
    assert rates[0] == pytest.approx(0.01)
    assert max(rates) == pytest.approx(0.1)
    assert rates.index(max(rates)) == 14
    assert rates[-1] == pytest.approx(0.0001)


# Generated once with torch 2.13.0: OneCycleLR(SGD(lr=0.1), max_lr=0.1, total_steps=T, pct_start=P,
# div_factor=25, final_div_factor=1e4, cycle_momentum=False); get_last_lr() at construction, then after
# each scheduler.step(), i.e. the rate of each 0-based optimizer step; 12 significant digits.
TORCH_ONE_CYCLE = {
    (21, 0.25): [
        0.004, 0.0165275719734, 0.0475711187458, 0.0809264625462, 0.0991827087848, 0.0994415435451,
        0.0969846431008, 0.0926645734234, 0.0866526469811, 0.079187266863, 0.0705644728991, 0.0611262021936,
        0.0512467296008, 0.0413178258463, 0.0317332218499, 0.022872995316, 0.0150884987431, 0.00868842653196,
        0.00392657370172, 0.00099177164207, 4e-07,
    ],
    (21, 0.3): [
        0.004, 0.0121885270984, 0.0339602760585, 0.0618869736996, 0.0864403483381, 0.0992430677415,
        0.0994415435451, 0.0967362355605, 0.091904437627, 0.0851659965848, 0.0768275115491, 0.0672683836481,
        0.0569235532687, 0.0462637102667, 0.035773877574, 0.0259313426523, 0.0171839409104, 0.00992967918933,
        0.00449862644881, 0.00113789562697, 4e-07,
    ],
    (50, 0.25): [
        0.004, 0.00577997020731, 0.0109878685818, 0.0192374491255, 0.0299168781889, 0.0422341113735,
        0.0552756358415, 0.0680742213842, 0.0796806554615, 0.0892341419538, 0.0960261424723, 0.0995529254097,
        0.0999561416804, 0.0996057366428, 0.0989073844072, 0.0978659834127, 0.0964888383391, 0.0947856088696,
        0.0927682419352, 0.0904508879153, 0.0878498013836, 0.084983227093, 0.0818712720026, 0.0785357642415,
        0.0750001, 0.0712890794224, 0.0674287326517, 0.0634461372468, 0.059369228253, 0.0552266022577,
        0.0510473168057, 0.0468606865816, 0.0426960777885, 0.0385827021646, 0.0345494120847, 0.0306244981805,
        0.0268354909032, 0.0232089674164, 0.0197703651767, 0.0165438035082, 0.0135519144227, 0.0108156838724,
        0.00835430454874, 0.00618504125914, 0.00432310982696, 0.0027815703634, 0.0015712356602, 0.000700595345682,
        0.000175756336097, 4e-07,
    ],
    (50, 0.3): [
        0.004, 0.00520346021527, 0.00875349434068, 0.0144720888415, 0.0220724895108, 0.0311735805224,
        0.0413189951701, 0.052, 0.0626810048299, 0.0728264194776, 0.0819275104892, 0.0895279111585,
        0.0952465056593, 0.0987965397847, 0.1, 0.0997987155049, 0.099196482644, 0.0981981502422,
        0.096811756285, 0.0950484632013, 0.0929224679903, 0.0904508879153, 0.0876536226859, 0.0845531942368,
        0.081174565395, 0.0775449388932, 0.0736935383499, 0.0696513729777, 0.0654509879153, 0.0611262021936,
        0.0567118364442, 0.0522434325446, 0.0477569674554, 0.0432885635558, 0.0388741978064, 0.0345494120847,
        0.0303490270223, 0.0263068616501, 0.0224554611068, 0.018825834605, 0.0154472057632, 0.0123467773141,
        0.00954951208465, 0.00707793200967, 0.00495193679865, 0.00318864371499, 0.00180224975778, 0.000803917355986,
        0.000201684495097, 4e-07,
    ],
    (100, 0.25): [
        0.004, 0.00441064665406, 0.00563556033812, 0.00765378243946, 0.0104307806183, 0.013919039666,
        0.018058874503, 0.0227794514076, 0.028, 0.0336311952465, 0.0395766858351, 0.0457347427734,
        0.052, 0.0582652572266, 0.0644233141649, 0.0703688047535, 0.076, 0.0812205485924,
        0.085941125497, 0.090080960334, 0.0935692193817, 0.0963462175605, 0.0983644396619, 0.0995893533459,
        0.1, 0.0999561416804, 0.0998246436639, 0.0996057366428, 0.0992998046543, 0.0989073844072,
        0.0984291643398, 0.0978659834127, 0.0972188296366, 0.0964888383391, 0.095677290173, 0.0947856088696,
        0.0938153587409, 0.0927682419352, 0.0916460954513, 0.0904508879153, 0.0891847161276, 0.0878498013836,
        0.0864484855773, 0.084983227093, 0.0834565964918, 0.0818712720026, 0.0802300348233, 0.0785357642415,
        0.0767914325836, 0.0750001, 0.0731649090968, 0.0712890794224, 0.0693759018195, 0.0674287326517,
        0.0654509879153, 0.0634461372468, 0.0614176978354, 0.059369228253, 0.0573043222115, 0.0552266022577,
        0.0531397134184, 0.0510473168057, 0.0489530831943, 0.0468606865816, 0.0447737977423, 0.0426960777885,
        0.040631171747, 0.0385827021646, 0.0365542627532, 0.0345494120847, 0.0325716673483, 0.0306244981805,
        0.0287113205776, 0.0268354909032, 0.0250003, 0.0232089674164, 0.0214646357585, 0.0197703651767,
        0.0181291279974, 0.0165438035082, 0.015017172907, 0.0135519144227, 0.0121505986164, 0.0108156838724,
        0.00954951208465, 0.00835430454874, 0.00723215806483, 0.00618504125914, 0.00521479113038, 0.00432310982696,
        0.00351156166088, 0.0027815703634, 0.0021344165873, 0.0015712356602, 0.00109301559283, 0.000700595345682,
        0.000394663357216, 0.000175756336097, 4.42583196231e-05, 4e-07,
    ],
    (100, 0.3): [
        0.004, 0.00428137805659, 0.00512221332592, 0.00651264778323, 0.00843637985579, 0.010870855544,
        0.0137875328461, 0.0171522163877, 0.0209254583305, 0.0250630208626, 0.0295163948464, 0.0342333685437,
        0.0391586397506, 0.0442344641655, 0.0494013323879, 0.0545986676121, 0.0597655358345, 0.0648413602494,
        0.0697666314563, 0.0744836051536, 0.0789369791374, 0.0830745416695, 0.0868477836123, 0.0902124671539,
        0.093129144456, 0.0955636201442, 0.0974873522168, 0.0988777866741, 0.0997186219434, 0.1,
        0.0999496535285, 0.0997987155049, 0.0995474898984, 0.099196482644, 0.0987464006235, 0.0981981502422,
        0.0975528356035, 0.096811756285, 0.095976404722, 0.0950484632013, 0.0940298004737, 0.0929224679903,
        0.0917286957714, 0.0904508879153, 0.0890916177571, 0.0876536226859, 0.0861397986324, 0.0845531942368,
        0.0828970047092, 0.081174565395, 0.0793893450576, 0.0775449388932, 0.0756450612904, 0.0736935383499,
        0.0716943001791, 0.0696513729777, 0.0675688709291, 0.0654509879153, 0.063301989071, 0.0611262021936,
        0.0589280090286, 0.0567118364442, 0.0544821475173, 0.0522434325446, 0.0500002, 0.0477569674554,
        0.0455182524827, 0.0432885635558, 0.0410723909714, 0.0388741978064, 0.036698410929, 0.0345494120847,
        0.0324315290709, 0.0303490270223, 0.0283060998209, 0.0263068616501, 0.0243553387096, 0.0224554611068,
        0.0206110549424, 0.018825834605, 0.0171033952908, 0.0154472057632, 0.0138606013676, 0.0123467773141,
        0.0109087822429, 0.00954951208465, 0.00827170422859, 0.00707793200967, 0.00597059952627, 0.00495193679865,
        0.00402399527798, 0.00318864371499, 0.00244756439655, 0.00180224975778, 0.00125399937649, 0.000803917355986,
        0.000452910101556, 0.000201684495097, 5.07464715476e-05, 4e-07,
    ],
}

EPOCHS_AND_STEPS = {21: (7, 3), 50: (10, 5), 100: (20, 5)}


@pytest.mark.parametrize("total,pct_start", sorted(TORCH_ONE_CYCLE))
def test_one_cycle_equals_pytorch_one_cycle_lr(total, pct_start):
    """A fractional pct_start·total_steps (21·0.25, 50·0.25, 21·0.3) keeps its fractional peak, as in PyTorch."""
    epochs, steps_per_epoch = EPOCHS_AND_STEPS[total]
    schedule = SCHEDULES["one_cycle"](0.1, epochs, steps_per_epoch, pct_start=pct_start,
                                      div_factor=25.0, final_div_factor=1e4)
    rates = [schedule.lr(step) for step in range(total)]
    assert rates == pytest.approx(TORCH_ONE_CYCLE[total, pct_start], rel=1e-11, abs=0)


def test_one_cycle_without_a_rising_step_starts_at_the_peak():
    """pct_start·total_steps = 1 puts the peak at step 0 (where OneCycleLR divides by zero)."""
    schedule = SCHEDULES["one_cycle"](0.1, 1, 10, pct_start=0.1, div_factor=25.0, final_div_factor=1e4)
    assert schedule.lr(0) == pytest.approx(0.1)
    assert schedule.lr(9) == pytest.approx(0.1 / 25 / 1e4)


def test_reduce_on_plateau_waits_patience_epochs_and_keeps_state():
    schedule = make("reduce_on_plateau", monitor="val_loss", mode="min", factor=0.5, patience=2)
    for value in (1.0, 0.9, 0.95, 0.92):
        schedule.on_epoch_end({"val_loss": value})
    assert schedule.lr(0) == pytest.approx(0.05)
    saved = schedule.state()
    restored = make("reduce_on_plateau", monitor="val_loss", mode="min", factor=0.5, patience=2)
    restored.load_state(saved)
    assert restored.lr(0) == pytest.approx(0.05) and restored.best == 0.9


def test_improvement_absolute_and_relative():
    assert is_improvement(0.89, 0.9, "min", min_delta=0.005)
    assert not is_improvement(0.898, 0.9, "min", min_delta=0.005)
    assert is_improvement(0.95, 0.9, "max")
    assert not is_improvement(90.5, 100, "min", min_delta=0.1, relative=True)
    assert is_improvement(89.0, 100, "min", min_delta=0.1, relative=True)


def test_fit_logs_pytorch_one_cycle_rates(cli, blobs_config, tmp_path):
    """Through `nntrain fit`: 84 training rows in batches of 28 for 7 epochs are 21 steps; each epoch logs its last rate."""
    result = cli("fit", blobs_config(epochs=7), "--set", "optimizer.lr=0.1", "--set", "training.batch_size=28",
                 "--set", "optimizer.schedule={type: one_cycle, pct_start: 0.25}")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["lr"] for r in records] == pytest.approx(TORCH_ONE_CYCLE[21, 0.25][2::3], rel=1e-11, abs=0)


def test_reduce_on_plateau_counts_patience_as_keras():
    """Reduce after `patience` epochs without improvement (Keras); torch 2.13's ReduceLROnPlateau (threshold 0)
    gives 0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025 here: one epoch later each time."""
    schedule = make("reduce_on_plateau", monitor="val_loss", mode="min", factor=0.5, patience=2)
    rates = []
    for value in (1.0, 0.9, 0.95, 0.92, 0.93, 0.91, 0.89, 0.95, 0.96, 0.97, 0.98):
        schedule.on_epoch_end({"val_loss": value})
        rates.append(schedule.lr(0))
    assert rates == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125, 0.0125, 0.00625])
