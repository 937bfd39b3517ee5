using System.Collections.Immutable;
using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace DiscriminativeTokens.Tests.Torch;

/// <summary>
/// The methods each method of an assembly calls, read from its IL (call, callvirt, newobj, ldftn, ldvirtftn), named
/// "Namespace.Type[/Nested]::Name(ParameterTypes)" so that calls into another assembly can be matched by name.
/// </summary>
internal sealed class IlCalls
{
    private static readonly Dictionary<ushort, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => (ushort)o.Value);

    /// <summary>Caller → the methods it calls.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Calls { get; }

    /// <summary>Every type the assembly refers to in another assembly (calls to virtual methods name the base
    /// declaration, so an override that runs is found through its type).</summary>
    public IReadOnlySet<string> ReferencedTypes { get; }

    private IlCalls(IReadOnlyDictionary<string, IReadOnlyList<string>> calls, IReadOnlySet<string> referencedTypes)
    {
        Calls = calls;
        ReferencedTypes = referencedTypes;
    }

    public static IlCalls Read(string assemblyPath)
    {
        using var stream = File.OpenRead(assemblyPath);
        using var pe = new PEReader(stream);
        var metadata = pe.GetMetadataReader();
        var names = new SignatureNames();
        var calls = new Dictionary<string, IReadOnlyList<string>>();
        foreach (var handle in metadata.MethodDefinitions)
        {
            var method = metadata.GetMethodDefinition(handle);
            if (method.RelativeVirtualAddress == 0) continue;
            var body = pe.GetMethodBody(method.RelativeVirtualAddress);
            var targets = new List<string>();
            var il = body.GetILReader();
            while (il.RemainingBytes > 0)
            {
                ushort value = il.ReadByte();
                if (value == 0xFE) value = (ushort)(0xFE00 | il.ReadByte());
                var opCode = OpCodesByValue[value];
                if (opCode.OperandType == OperandType.InlineMethod)
                {
                    var token = MetadataTokens.EntityHandle(il.ReadInt32());
                    targets.Add(Name(metadata, names, token));
                }
                else
                {
                    Skip(ref il, opCode.OperandType);
                }
            }
            calls[Name(metadata, names, handle)] = targets;
        }
        var types = metadata.TypeReferences.Select(t => TypeName(metadata, t)).ToHashSet(StringComparer.Ordinal);
        return new IlCalls(calls, types);
    }

    private static void Skip(ref BlobReader il, OperandType operand)
    {
        switch (operand)
        {
            case OperandType.InlineNone: break;
            case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar: il.Offset += 1; break;
            case OperandType.InlineVar: il.Offset += 2; break;
            case OperandType.InlineI8 or OperandType.InlineR: il.Offset += 8; break;
            case OperandType.InlineSwitch:
                int targets = il.ReadInt32();
                il.Offset += 4 * targets;
                break;
            default: il.Offset += 4; break;   // branch targets, tokens, int32, float32
        }
    }

    private static string Name(MetadataReader metadata, SignatureNames names, EntityHandle handle)
    {
        switch (handle.Kind)
        {
            case HandleKind.MethodDefinition:
            {
                var method = metadata.GetMethodDefinition((MethodDefinitionHandle)handle);
                var signature = method.DecodeSignature(names, null);
                return $"{TypeName(metadata, method.GetDeclaringType())}::{metadata.GetString(method.Name)}({string.Join(",", signature.ParameterTypes)})";
            }
            case HandleKind.MemberReference:
            {
                var member = metadata.GetMemberReference((MemberReferenceHandle)handle);
                string parent = member.Parent.Kind switch
                {
                    HandleKind.TypeReference => TypeName(metadata, (TypeReferenceHandle)member.Parent),
                    HandleKind.TypeDefinition => TypeName(metadata, (TypeDefinitionHandle)member.Parent),
                    HandleKind.TypeSpecification => GenericTypeName(metadata, names, (TypeSpecificationHandle)member.Parent),
                    _ => "?",
                };
                if (member.GetKind() != MemberReferenceKind.Method) return $"{parent}::{metadata.GetString(member.Name)}";
                var signature = member.DecodeMethodSignature(names, null);
                return $"{parent}::{metadata.GetString(member.Name)}({string.Join(",", signature.ParameterTypes)})";
            }
            case HandleKind.MethodSpecification:
                return Name(metadata, names, metadata.GetMethodSpecification((MethodSpecificationHandle)handle).Method);
            default:
                return "?";
        }
    }

    private static string GenericTypeName(MetadataReader metadata, SignatureNames names, TypeSpecificationHandle handle)
    {
        string name = metadata.GetTypeSpecification(handle).DecodeSignature(names, null);
        int generic = name.IndexOf('<');
        return generic < 0 ? name : name[..generic];
    }

    internal static string TypeName(MetadataReader metadata, TypeDefinitionHandle handle)
    {
        var type = metadata.GetTypeDefinition(handle);
        var declaring = type.GetDeclaringType();
        return declaring.IsNil
            ? Qualified(metadata.GetString(type.Namespace), metadata.GetString(type.Name))
            : $"{TypeName(metadata, declaring)}/{metadata.GetString(type.Name)}";
    }

    internal static string TypeName(MetadataReader metadata, TypeReferenceHandle handle)
    {
        var type = metadata.GetTypeReference(handle);
        return type.ResolutionScope.Kind == HandleKind.TypeReference
            ? $"{TypeName(metadata, (TypeReferenceHandle)type.ResolutionScope)}/{metadata.GetString(type.Name)}"
            : Qualified(metadata.GetString(type.Namespace), metadata.GetString(type.Name));
    }

    private static string Qualified(string ns, string name) => ns.Length == 0 ? name : $"{ns}.{name}";

    /// <summary>Type names in signatures, in the same form as <see cref="TypeName(MetadataReader, TypeDefinitionHandle)"/>.</summary>
    private sealed class SignatureNames : ISignatureTypeProvider<string, object?>
    {
        public string GetPrimitiveType(PrimitiveTypeCode typeCode) => typeCode.ToString();
        public string GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind) => TypeName(reader, handle);
        public string GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind) => TypeName(reader, handle);
        public string GetSZArrayType(string elementType) => elementType + "[]";
        public string GetArrayType(string elementType, ArrayShape shape) => elementType + "[" + new string(',', shape.Rank - 1) + "]";
        public string GetByReferenceType(string elementType) => elementType + "&";
        public string GetPointerType(string elementType) => elementType + "*";
        public string GetPinnedType(string elementType) => elementType;
        public string GetGenericInstantiation(string genericType, ImmutableArray<string> typeArguments) =>
            genericType + "<" + string.Join(",", typeArguments) + ">";
        public string GetGenericTypeParameter(object? genericContext, int index) => "!" + index;
        public string GetGenericMethodParameter(object? genericContext, int index) => "!!" + index;
        public string GetFunctionPointerType(MethodSignature<string> signature) => "fnptr";
        public string GetModifiedType(string modifier, string unmodifiedType, bool isRequired) => unmodifiedType;
        public string GetTypeFromSpecification(MetadataReader reader, object? genericContext, TypeSpecificationHandle handle, byte rawTypeKind) =>
            reader.GetTypeSpecification(handle).DecodeSignature(this, genericContext);
    }
}
