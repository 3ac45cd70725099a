using System.Text;

namespace AmbientNative.Onnx.Tests;

/// <summary>
/// Writes tiny ONNX models (a ModelProto with one small graph) as protobuf bytes by hand, so the tests need no model
/// files and no Python. Field numbers are those of onnx.proto: ModelProto {1 ir_version, 7 graph, 8 opset_import},
/// GraphProto {1 node, 2 name, 5 initializer, 11 input, 12 output}, NodeProto {1 input, 2 output, 4 op_type},
/// ValueInfoProto {1 name, 2 type}, TypeProto {1 tensor_type {1 elem_type, 2 shape {1 dim {1 dim_value | 2 dim_param}}}},
/// TensorProto {1 dims, 2 data_type, 8 name, 9 raw_data}, OperatorSetIdProto {1 domain, 2 version}.
/// </summary>
internal static class OnnxModelBytes
{
    private const int Float = 1; // TensorProto.DataType.FLOAT

    /// <summary>A dimension: a positive size, or a named free dimension.</summary>
    public readonly record struct Dim(long Value, string? Param = null)
    {
        public static implicit operator Dim(long v) => new(v);
        public static implicit operator Dim(string p) => new(0, p);
    }

    public sealed record Node(string OpType, string[] Inputs, string[] Outputs);
    public sealed record Initializer(string Name, long[] Dims, float[] Values);

    public static byte[] Model(Node[] nodes, (string Name, Dim[] Shape)[] inputs, (string Name, Dim[] Shape)[] outputs,
        Initializer[]? initializers = null, long opset = 13)
    {
        var graph = new Proto();
        foreach (var n in nodes)
        {
            var node = new Proto();
            foreach (var i in n.Inputs) node.String(1, i);
            foreach (var o in n.Outputs) node.String(2, o);
            node.String(4, n.OpType);
            graph.Message(1, node);
        }
        graph.String(2, "test");
        foreach (var init in initializers ?? [])
        {
            var t = new Proto();
            foreach (long d in init.Dims) t.Varint(1, (ulong)d);
            t.Varint(2, Float);
            t.String(8, init.Name);
            var raw = new byte[init.Values.Length * 4];
            for (int i = 0; i < init.Values.Length; i++) BitConverter.TryWriteBytes(raw.AsSpan(i * 4), init.Values[i]);
            t.Bytes(9, raw);
            graph.Message(5, t);
        }
        foreach (var (name, shape) in inputs) graph.Message(11, ValueInfo(name, shape));
        foreach (var (name, shape) in outputs) graph.Message(12, ValueInfo(name, shape));

        var opsetId = new Proto();
        opsetId.String(1, "");
        opsetId.Varint(2, (ulong)opset);
        var model = new Proto();
        model.Varint(1, 8); // IR version 8 (ONNX 1.10+)
        model.Message(7, graph);
        model.Message(8, opsetId);
        return model.ToArray();
    }

    private static Proto ValueInfo(string name, Dim[] shape)
    {
        var dims = new Proto();
        foreach (var d in shape)
        {
            var dim = new Proto();
            if (d.Param != null) dim.String(2, d.Param); else dim.Varint(1, (ulong)d.Value);
            dims.Message(1, dim);
        }
        var tensor = new Proto();
        tensor.Varint(1, Float);
        tensor.Message(2, dims);
        var type = new Proto();
        type.Message(1, tensor);
        var vi = new Proto();
        vi.String(1, name);
        vi.Message(2, type);
        return vi;
    }

    /// <summary>The protobuf wire format: varints (wire type 0) and length-delimited fields (wire type 2).</summary>
    private sealed class Proto
    {
        private readonly MemoryStream _s = new();

        public void Varint(int field, ulong v) { Tag(field, 0); Raw(v); }
        public void String(int field, string v) => Bytes(field, Encoding.UTF8.GetBytes(v));
        public void Message(int field, Proto m) => Bytes(field, m.ToArray());
        public void Bytes(int field, byte[] v) { Tag(field, 2); Raw((ulong)v.Length); _s.Write(v); }
        public byte[] ToArray() => _s.ToArray();

        private void Tag(int field, int wire) => Raw((ulong)(field << 3 | wire));
        private void Raw(ulong v)
        {
            for (; v >= 0x80; v >>= 7) _s.WriteByte((byte)(v | 0x80));
            _s.WriteByte((byte)v);
        }
    }
}
