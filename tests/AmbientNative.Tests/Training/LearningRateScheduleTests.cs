using AmbientNative.Training;

namespace AmbientNative.Tests.Training;

public class LearningRateScheduleTests
{
    [Test]
    public void Warmup_is_linear_then_constant()
    {
        var s = new LearningRateSchedule(baseLr: 1e-3, warmupImages: 10_000_000); // EDM CIFAR-10: lr_rampup_kimg = 10000
        Assert.That(s.At(0), Is.EqualTo(0));
        Assert.That(s.At(2_500_000), Is.EqualTo(2.5e-4).Within(1e-18));
        Assert.That(s.At(5_000_000), Is.EqualTo(5e-4).Within(1e-18));
        Assert.That(s.At(10_000_000), Is.EqualTo(1e-3));
        Assert.That(s.At(80_000_000), Is.EqualTo(1e-3));
    }

    [Test]
    public void Zero_warmup_is_constant_from_the_first_step()
    {
        var s = new LearningRateSchedule(2e-4);
        Assert.That(new[] { s.At(0), s.At(1), s.At(1_000_000) }, Is.All.EqualTo(2e-4));
    }

    [Test]
    public void Bad_arguments_give_clear_errors()
    {
        Assert.That(() => new LearningRateSchedule(-1), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("base rate"));
        Assert.That(() => new LearningRateSchedule(1e-3, -5), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("warm-up"));
        Assert.That(() => new LearningRateSchedule(1e-3).At(-1), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("images seen"));
    }
}
